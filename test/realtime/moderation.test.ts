/** Host moderation: mute, unmute, kick, ban (durable), unban. */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RedisRealtimeState } from "../../src/state/redis-realtime-state.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { guest, party } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

async function hostAndTarget() {
  const { host, room, viewer, hostClient } = await party(t, { host: { transport: "ws" }, members: { viewer: guest("Target") } });
  // The target has two tabs, one per transport.
  const tabA = rawClient(t.baseUrl, room.code, viewer.token);
  await tabA.drainJoin();
  const tabB = sioClient(t.baseUrl, room.code, viewer.token);
  await tabB.drainJoin();
  await hostClient.waitFor("USER_JOINED");
  return { host, room, viewer, hostClient, tabA, tabB };
}

const closeAll = (...clients: TestClient[]) => Promise.all(clients.map((c) => c.close()));

/** Resolves when this instance's hub lets go of the room (its last local member has left). */
function released(code: string): Promise<void> {
  return new Promise((resolve) => {
    t.app.realtime.hub.addTransport({
      broadcast: () => {},
      releaseRoom: (roomCode) => {
        if (roomCode === code) resolve();
      },
    });
  });
}

/**
 * Sends chat (a new text each time) until the server takes one: returns the refusal codes seen
 * first. A try a few times a second (each reads up to the server's answer), for up to `ms`.
 */
async function chatUntilAccepted(client: TestClient, ms = 8000): Promise<string[]> {
  const refusals: string[] = [];
  const deadline = Date.now() + ms;
  let attempt = 0;
  await vi.waitFor(
    async () => {
      const text = `let me speak ${attempt++}`;
      client.send({ type: "CHAT_MESSAGE", message: text });
      for (;;) {
        const m = await client.next(undefined, Math.max(1, deadline - Date.now()));
        if (m.type === "CHAT_MESSAGE" && m.message === text) return;
        if (m.type === "ERROR") {
          refusals.push(m.code);
          throw new Error(`still refused after ${ms} ms: ${refusals.join()}`);
        }
      }
    },
    { timeout: ms, interval: 200 },
  );
  return refusals;
}

const timeline = (roomId: string) =>
  t.app.database.db
    .selectFrom("room_events")
    .select(["event", "actor_id", "reason", "data"])
    .where("room_id", "=", roomId)
    .where("event", "like", "moderation.%")
    .orderBy("seq")
    .execute();

describe("moderation", () => {
  it("KICK closes every socket of the target with 4011 (Socket.IO gets CLOSE first); the target may return", async () => {
    const { room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    hostClient.send({ type: "KICK_USER", user_id: viewer.id });
    expect(await tabA.closed).toEqual({ code: 4011, reason: "Kicked by host" });
    expect(await tabB.waitFor("CLOSE")).toEqual({ type: "CLOSE", code: 4011, reason: "Kicked by host" });
    expect((await tabB.closed).code).toBe(4011);
    expect(await hostClient.waitFor("USER_LEFT")).toMatchObject({ user_id: viewer.id });
    const back = rawClient(t.baseUrl, room.code, viewer.token);
    await back.drainJoin();
  });

  it("BAN closes the target's sockets, is stored, and refuses socket and HTTP joins until UNBAN", async () => {
    const { host, room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    hostClient.send({ type: "BAN_USER", user_id: viewer.id });
    expect((await tabA.closed).code).toBe(4011);
    expect((await tabB.closed).code).toBe(4011);
    expect((await rawClient(t.baseUrl, room.code, viewer.token).closed).code).toBe(4010);
    const http = await t.api.join(viewer.token, room.code);
    expect(http.status).toBe(403);
    expect(http.body.code).toBe("BANNED");
    const bans = await t.app.database.db.selectFrom("room_bans").selectAll().where("room_id", "=", room.room_id).execute();
    expect(bans).toMatchObject([{ user_id: viewer.id, banned_by: host.id }]);

    hostClient.send({ type: "UNBAN_USER", user_id: viewer.id });
    hostClient.send({ type: "TIME_SYNC", client_ts: 0 });
    await hostClient.waitFor("TIME_SYNC"); // the unban ran before this
    const back = sioClient(t.baseUrl, room.code, viewer.token);
    await back.drainJoin();
    const audit = await t.app.database.db
      .selectFrom("room_events")
      .select("event")
      .where("room_id", "=", room.room_id)
      .where("event", "like", "moderation.%")
      .execute();
    expect(audit.map((a) => a.event)).toEqual(["moderation.banned", "moderation.unbanned"]);
  });

  it("only the host moderates, never itself, and only participants", async () => {
    const { host, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    tabA.send({ type: "MUTE_USER", user_id: host.id });
    expect(await tabA.waitFor("ERROR")).toEqual({ type: "ERROR", code: "PERMISSION_DENIED", message: "Only host can moderate" });
    hostClient.send({ type: "BAN_USER", user_id: host.id });
    expect(await hostClient.waitFor("ERROR")).toMatchObject({ code: "VALIDATION_FAILED", message: "The host cannot moderate itself" });
    const stranger = await t.api.register();
    hostClient.send({ type: "KICK_USER", user_id: stranger.id });
    expect((await hostClient.waitFor("ERROR")).code).toBe("PARTICIPANT_NOT_FOUND");
    hostClient.send({ type: "KICK_USER", user_id: "not-a-uuid" });
    expect((await hostClient.waitFor("ERROR")).code).toBe("VALIDATION_FAILED");
    hostClient.send({ type: "UNBAN_USER", user_id: viewer.id });
    expect(await hostClient.waitFor("ERROR")).toMatchObject({ code: "PARTICIPANT_NOT_FOUND", message: "User is not banned" });
    const sio = tabB as ReturnType<typeof sioClient>;
    expect(await sio.emitAck("KICK_USER", { user_id: host.id })).toEqual({
      ok: false,
      error: { code: "PERMISSION_DENIED", message: "Only host can moderate" },
    });
  });
  it("mutes are durable: the realtime state forgets them (restart), the room reloads them from the database", async () => {
    const { room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    await tabA.waitFor("USER_MUTED");
    const rows = await t.app.database.db
      .selectFrom("room_mutes")
      .select(["user_id", "muted_by"])
      .where("room_id", "=", room.room_id)
      .execute();
    expect(rows).toEqual([{ user_id: viewer.id, muted_by: expect.any(String) }]);
    // The state loses the mute (an embedded restart, a Redis restart without persistence)...
    await t.app.realtime.state.mutes.unmute(room.room_id, viewer.id);
    const gone = released(room.code);
    await closeAll(hostClient, tabA, tabB);
    // The server finishes the leaves after the clients see their sockets close; a join before
    // that would find the room still loaded here.
    await gone;
    // ...and gets it back when the room is loaded again.
    const again = rawClient(t.baseUrl, room.code, viewer.token);
    await again.drainJoin();
    again.send({ type: "CHAT_MESSAGE", message: "am I free?" });
    expect(await again.waitFor("ERROR")).toMatchObject({ code: "MUTED" });
  });

  it("after Redis lost its data, presence and mutes come back without anyone reconnecting (cluster)", async (ctx) => {
    const state = t.app.realtime.state;
    if (!(state instanceof RedisRealtimeState)) return ctx.skip();
    const { host, room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    await tabA.waitFor("USER_MUTED");
    const redis = t.app.redis!;
    for await (const keys of redis.scanIterator({ MATCH: `${t.config.REDIS_PREFIX}rt:*`, COUNT: 500 }))
      if (keys.length) await redis.del(keys);
    expect(await state.presence.onlineUsers(room.room_id)).toEqual(new Set());
    expect(await state.presence.restoreLost(), "the host's and both of the viewer's connections").toBe(3);
    expect(await state.presence.onlineUsers(room.room_id)).toEqual(new Set([host.id, viewer.id]));
    tabB.send({ type: "CHAT_MESSAGE", message: "still muted?" });
    expect(await tabB.waitFor("ERROR")).toMatchObject({ code: "MUTED" });
  });

  it("a timed mute with a reason: USER_MUTED says until when and why, chat is refused, then accepted once it expires", async () => {
    const { host, room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    const sio = tabB as ReturnType<typeof sioClient>;
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id, reason: "  spoilers  ", duration_seconds: 1 });
    const muted = await tabA.waitFor("USER_MUTED");
    expect(muted).toEqual({ type: "USER_MUTED", user_id: viewer.id, muted: true, until: expect.any(String), reason: "spoilers" });
    expect(await sio.waitFor("USER_MUTED")).toEqual(muted);
    const until = Date.parse(muted.until);
    expect(until).toBeGreaterThan(Date.now() - 1000);
    expect(until).toBeLessThan(Date.now() + 2500);
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "spoiler!" })).toMatchObject({ ok: false, error: { code: "MUTED" } });
    const refusals = await chatUntilAccepted(tabA);
    expect(refusals.filter((code) => code !== "MUTED")).toEqual([]);
    expect(Date.now()).toBeGreaterThanOrEqual(until - 50);

    const [row] = await t.app.database.db.selectFrom("room_mutes").selectAll().where("room_id", "=", room.room_id).execute();
    expect(row).toMatchObject({ user_id: viewer.id, muted_by: host.id, reason: "spoilers" });
    expect(row!.expires_at!.getTime()).toBe(until);
    expect(await timeline(room.room_id)).toEqual([
      {
        event: "moderation.muted",
        actor_id: host.id,
        reason: "spoilers",
        data: { user_id: viewer.id, duration_seconds: 1, expires_at: muted.until },
      },
    ]);
    // An expired mute is not restored when the room is loaded again.
    expect(await t.app.services.moderation.mutedUsers(room.room_id)).toEqual([]);
  });

  it("re-muting replaces the reason and expiry; a plain mute keeps the plain USER_MUTED and lasts until UNMUTE", async () => {
    const { host, room, viewer, hostClient, tabA } = await hostAndTarget();
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id, reason: "calm down", duration_seconds: 3600 });
    expect(await tabA.waitFor("USER_MUTED")).toMatchObject({ reason: "calm down" });
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    expect(await tabA.waitFor("USER_MUTED")).toEqual({ type: "USER_MUTED", user_id: viewer.id, muted: true });
    const rows = await t.app.database.db
      .selectFrom("room_mutes")
      .select(["reason", "expires_at"])
      .where("room_id", "=", room.room_id)
      .execute();
    expect(rows).toEqual([{ reason: null, expires_at: null }]);
    expect(await t.app.services.moderation.mutedUsers(room.room_id)).toEqual([{ userId: viewer.id, until: null }]);
    hostClient.send({ type: "UNMUTE_USER", user_id: viewer.id });
    expect(await tabA.waitFor("USER_MUTED")).toEqual({ type: "USER_MUTED", user_id: viewer.id, muted: false });
    expect(await chatUntilAccepted(tabA)).toEqual([]);
    expect((await timeline(room.room_id)).map((e) => [e.event, e.reason, e.actor_id])).toEqual([
      ["moderation.muted", "calm down", host.id],
      ["moderation.muted", null, host.id],
      ["moderation.unmuted", null, host.id],
    ]);
  });

  it("KICK and BAN reasons reach the target's CLOSE and the timeline", async () => {
    const { host, room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    hostClient.send({ type: "KICK_USER", user_id: viewer.id, reason: "cool off" });
    expect(await tabA.closed).toEqual({ code: 4011, reason: "Kicked by host: cool off" });
    expect(await tabB.waitFor("CLOSE")).toEqual({ type: "CLOSE", code: 4011, reason: "Kicked by host: cool off" });
    const again = sioClient(t.baseUrl, room.code, viewer.token);
    await again.drainJoin();
    // A long reason is cut to fit a raw close frame (123 bytes); Socket.IO's CLOSE carries it whole.
    const raw = rawClient(t.baseUrl, room.code, viewer.token);
    await raw.drainJoin();
    const long = "é".repeat(200);
    hostClient.send({ type: "BAN_USER", user_id: viewer.id, reason: long });
    expect(await again.waitFor("CLOSE")).toEqual({ type: "CLOSE", code: 4011, reason: `Banned by host: ${long}` });
    const closed = await raw.closed;
    expect(closed.code).toBe(4011);
    expect(closed.reason.startsWith("Banned by host: éé")).toBe(true);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    expect((await timeline(room.room_id)).map((e) => [e.event, e.reason, e.data])).toEqual([
      ["moderation.kicked", "cool off", { user_id: viewer.id }],
      ["moderation.banned", long, { user_id: viewer.id, duration_seconds: null, expires_at: null }],
    ]);
    expect(
      await t.app.database.db.selectFrom("room_bans").select(["banned_by", "reason"]).where("room_id", "=", room.room_id).execute(),
    ).toEqual([{ banned_by: host.id, reason: long }]);
  });

  it("a timed ban refuses socket and HTTP joins until it expires, then lets the user back in", async () => {
    const { room, viewer, hostClient, tabA, tabB } = await hostAndTarget();
    hostClient.send({ type: "BAN_USER", user_id: viewer.id, reason: "timeout", duration_seconds: 1 });
    expect(await tabA.closed).toEqual({ code: 4011, reason: "Banned by host: timeout" });
    expect((await tabB.closed).code).toBe(4011);
    expect((await rawClient(t.baseUrl, room.code, viewer.token).closed).code).toBe(4010);
    const mine = async () =>
      ((await t.api.get("/api/rooms/mine/", { token: viewer.token })).body as { room_id: string }[]).some(
        (r) => r.room_id === room.room_id,
      );
    expect(await mine()).toBe(false);
    // Poll HTTP join until the ban is over (a refusal is 403 BANNED, nothing else).
    const join = await vi.waitFor(
      async () => {
        const res = await t.api.join(viewer.token, room.code);
        if (res.status === 403 && res.body.code === "BANNED") throw new Error("still banned");
        return res;
      },
      { timeout: 8000, interval: 200 },
    );
    expect(join.status).toBe(200);
    expect(await mine()).toBe(true);
    expect((await t.api.get(`/api/rooms/${room.code}/detail/`, { token: viewer.token })).status).toBe(200);
    const back = rawClient(t.baseUrl, room.code, viewer.token);
    await back.drainJoin();
    // The expired ban can no longer be lifted: there is nothing to lift.
    hostClient.send({ type: "UNBAN_USER", user_id: viewer.id });
    expect(await hostClient.waitFor("ERROR")).toMatchObject({ code: "PARTICIPANT_NOT_FOUND", message: "User is not banned" });
  });

  it("reason and duration are validated", async () => {
    const { viewer, hostClient, tabA } = await hostAndTarget();
    for (const bad of [
      { type: "MUTE_USER", user_id: viewer.id, reason: "x".repeat(201) },
      { type: "BAN_USER", user_id: viewer.id, duration_seconds: 0 },
      { type: "BAN_USER", user_id: viewer.id, duration_seconds: 30 * 24 * 3600 + 1 },
      { type: "MUTE_USER", user_id: viewer.id, duration_seconds: 1.5 },
      { type: "KICK_USER", user_id: viewer.id, reason: 42 },
    ]) {
      hostClient.send(bad);
      expect((await hostClient.waitFor("ERROR")).code, JSON.stringify(bad)).toBe("VALIDATION_FAILED");
    }
    // Trimmed to nothing is no reason: the plain USER_MUTED.
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id, reason: "   ", duration_seconds: null });
    expect(await tabA.waitFor("USER_MUTED")).toEqual({ type: "USER_MUTED", user_id: viewer.id, muted: true });
  });
});
