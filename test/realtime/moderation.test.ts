/** Host moderation: mute, unmute, kick, ban (durable), unban. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisRealtimeState } from "../../src/state/redis-realtime-state.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

async function party() {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  const viewer = await t.api.guest("Target");
  await t.api.join(viewer.token, room.code);
  const hostClient = rawClient(t.baseUrl, room.code, host.token);
  await hostClient.drainJoin();
  // The target has two tabs, one per transport.
  const tabA = rawClient(t.baseUrl, room.code, viewer.token);
  await tabA.drainJoin();
  const tabB = sioClient(t.baseUrl, room.code, viewer.token);
  await tabB.drainJoin();
  await hostClient.waitFor("USER_JOINED");
  return { host, room, viewer, hostClient, tabA, tabB };
}

const closeAll = (...clients: TestClient[]) => Promise.all(clients.map((c) => c.close()));

describe("moderation", () => {
  it("KICK closes every socket of the target with 4011 (Socket.IO gets CLOSE first); the target may return", async () => {
    const { room, viewer, hostClient, tabA, tabB } = await party();
    hostClient.send({ type: "KICK_USER", user_id: viewer.id });
    expect(await tabA.closed).toEqual({ code: 4011, reason: "Kicked by host" });
    expect(await tabB.waitFor("CLOSE")).toEqual({ type: "CLOSE", code: 4011, reason: "Kicked by host" });
    expect((await tabB.closed).code).toBe(4011);
    expect(await hostClient.waitFor("USER_LEFT")).toMatchObject({ user_id: viewer.id });
    const back = rawClient(t.baseUrl, room.code, viewer.token);
    await back.drainJoin();
    await closeAll(back, hostClient);
  });

  it("BAN closes the target's sockets, is stored, and refuses socket and HTTP joins until UNBAN", async () => {
    const { host, room, viewer, hostClient, tabA, tabB } = await party();
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
    const audit = await t.app.database.db.selectFrom("room_events").select("event").where("room_id", "=", room.room_id).where("event", "like", "moderation.%").execute();
    expect(audit.map((a) => a.event)).toEqual(["moderation.banned", "moderation.unbanned"]);
    await closeAll(back, hostClient);
  });

  it("only the host moderates, never itself, and only participants", async () => {
    const { host, viewer, hostClient, tabA, tabB } = await party();
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
    expect(await sio.emitAck("KICK_USER", { user_id: host.id })).toEqual({ ok: false, error: { code: "PERMISSION_DENIED", message: "Only host can moderate" } });
    await closeAll(hostClient, tabA, tabB);
  });
  it("mutes are durable: the realtime state forgets them (restart), the room reloads them from the database", async () => {
    const { room, viewer, hostClient, tabA, tabB } = await party();
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    await tabA.waitFor("USER_MUTED");
    const rows = await t.app.database.db.selectFrom("room_mutes").select(["user_id", "muted_by"]).where("room_id", "=", room.room_id).execute();
    expect(rows).toEqual([{ user_id: viewer.id, muted_by: expect.any(String) }]);
    // The state loses the mute (an embedded restart, a Redis restart without persistence)...
    await t.app.realtime.state.setMuted(room.room_id, viewer.id, false);
    await closeAll(hostClient, tabA, tabB);
    // ...and gets it back when the room is loaded again.
    const again = rawClient(t.baseUrl, room.code, viewer.token);
    await again.drainJoin();
    again.send({ type: "CHAT_MESSAGE", message: "am I free?" });
    expect(await again.waitFor("ERROR")).toMatchObject({ code: "MUTED" });
    await again.close();
  });

  it("after Redis lost its data, presence and mutes come back without anyone reconnecting (cluster)", async (ctx) => {
    const state = t.app.realtime.state;
    if (!(state instanceof RedisRealtimeState)) return ctx.skip();
    const { host, room, viewer, hostClient, tabA, tabB } = await party();
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    await tabA.waitFor("USER_MUTED");
    const redis = t.app.redis!;
    for await (const keys of redis.scanIterator({ MATCH: `${t.config.REDIS_PREFIX}rt:*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
    expect(await state.onlineUsers(room.room_id)).toEqual(new Set());
    expect(await state.restoreLost(), "the host's and both of the viewer's connections").toBe(3);
    expect(await state.onlineUsers(room.room_id)).toEqual(new Set([host.id, viewer.id]));
    tabB.send({ type: "CHAT_MESSAGE", message: "still muted?" });
    expect(await tabB.waitFor("ERROR")).toMatchObject({ code: "MUTED" });
    await closeAll(hostClient, tabA, tabB);
  });
});
