/** Co-hosts (REST and event), what the room lets them do, host succession at the end of grace, reclaim. */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";
import { guest, party, registered } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ GRACE_PERIOD_SECONDS: "1", HOST_RECLAIM_SECONDS: "600" });
});
afterAll(() => t?.stop());

const db = () => t.app.database.db;
const roomRow = (id: string) => db().selectFrom("rooms").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const audit = async (roomId: string, event: string) =>
  db().selectFrom("room_events").selectAll().where("room_id", "=", roomId).where("event", "=", event).execute();

/** A live room: host + two registered viewers (the first joins first), all connected (the second over Socket.IO). */
const hostAndTwo = () =>
  party(t, { transport: "ws", members: { first: registered(), second: registered({ transport: "socket.io" }) }, hostSeesJoin: true });

const setCohost = (token: string, roomId: string, userId: string, cohost = true) =>
  t.api.post("/api/rooms/cohosts/", { room_id: roomId, user_id: userId, cohost }, { token });
const setPolicy = (token: string, roomId: string, policy: Record<string, unknown>) =>
  t.api.post("/api/rooms/host-policy/", { room_id: roomId, ...policy }, { token });

describe("co-hosts", () => {
  it("the host names a co-host over REST: everyone gets COHOSTS_CHANGED and a roster marking them", async () => {
    const { host, room, second, hostClient, firstClient, secondClient } = await hostAndTwo();
    const res = await setCohost(host.token, room.room_id, second.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      room_id: room.room_id,
      cohosts: [second.id],
      succession: "EXPIRE",
      cohosts_control_playback: true,
      cohosts_moderate: true,
    });
    for (const client of [hostClient, firstClient, secondClient]) {
      expect(await client.waitFor("COHOSTS_CHANGED")).toMatchObject({ cohosts: [second.id] });
      const roster = await client.waitFor("ROOM_PARTICIPANTS");
      expect(roster.members.find((m: any) => m.id === second.id)).toMatchObject({ is_cohost: true, is_host: false });
    }
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: second.token });
    expect(detail.body).toMatchObject({ is_cohost: true, cohosts: [second.id], succession: "EXPIRE", reclaim_until: null });
    expect(await audit(room.room_id, "cohost.added")).toMatchObject([{ actor_id: host.id, data: { user_id: second.id } }]);
    // Naming them again changes nothing and announces nothing.
    expect((await setCohost(host.token, room.room_id, second.id)).status).toBe(200);
    await firstClient.expectNone(150, "COHOSTS_CHANGED");
  });

  it("only the host names co-hosts, and only registered, approved participants", async () => {
    const { host, room, first, second, hostClient, firstClient, secondClient } = await hostAndTwo();
    expect((await setCohost(first.token, room.room_id, second.id)).body.code).toBe("PERMISSION_DENIED");
    expect((await setCohost(host.token, room.room_id, host.id)).status).toBe(400);
    const guest = await t.api.guest("Guesty");
    await t.api.join(guest.token, room.code);
    expect((await setCohost(host.token, room.room_id, guest.id)).body).toMatchObject({
      code: "VALIDATION_FAILED",
      error: "Guests cannot be co-hosts",
    });
    const stranger = await t.api.register();
    expect((await setCohost(host.token, room.room_id, stranger.id)).status).toBe(404);
    expect((await setCohost(host.token, room.room_id, second.id, "yes" as never)).status).toBe(400);
    // The event: the host over Socket.IO with an ack; a viewer is refused.
    expect(await secondClient.emitAck("SET_COHOST", { user_id: first.id, cohost: true })).toMatchObject({
      ok: false,
      error: { code: "PERMISSION_DENIED" },
    });
    const hostSio = sioClient(t.baseUrl, room.code, host.token);
    await hostSio.drainJoin();
    expect(await hostSio.emitAck("SET_COHOST", { user_id: first.id, cohost: true })).toEqual({ ok: true, cohosts: [first.id] });
    expect(await firstClient.waitFor("COHOSTS_CHANGED")).toMatchObject({ cohosts: [first.id] });
    hostClient.send({ type: "SET_COHOST", user_id: first.id, cohost: false });
    expect(await firstClient.waitFor("COHOSTS_CHANGED")).toMatchObject({ cohosts: [] });
  });

  it("co-hosts control playback and moderate viewers as the room allows, never the host or each other", async () => {
    const { host, room, first, second, hostClient, firstClient, secondClient } = await hostAndTwo();
    await setCohost(host.token, room.room_id, second.id);
    await secondClient.waitFor("COHOSTS_CHANGED");
    expect(await secondClient.emitAck("PLAY", { time: 5 })).toMatchObject({ ok: true, version: 1 });
    expect(await firstClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: true, version: 1 });
    expect(await secondClient.emitAck("MUTE_USER", { user_id: first.id })).toEqual({ ok: true });
    expect(await hostClient.waitFor("USER_MUTED")).toMatchObject({ user_id: first.id, muted: true });
    expect(await secondClient.emitAck("KICK_USER", { user_id: host.id })).toMatchObject({
      ok: false,
      error: { code: "PERMISSION_DENIED", message: "Co-hosts cannot moderate the host or other co-hosts" },
    });
    // A viewer still cannot.
    firstClient.send({ type: "PAUSE", time: 6 });
    expect(await firstClient.waitFor("ERROR")).toMatchObject({ code: "PERMISSION_DENIED" });

    const res = await setPolicy(host.token, room.room_id, { cohosts_control_playback: false, cohosts_moderate: false });
    expect(res.body).toMatchObject({ cohosts_control_playback: false, cohosts_moderate: false });
    expect(await secondClient.waitFor("COHOSTS_CHANGED")).toMatchObject({ cohosts_control_playback: false, cohosts_moderate: false });
    expect(await secondClient.emitAck("PAUSE", { time: 7 })).toMatchObject({ ok: false, error: { code: "PERMISSION_DENIED" } });
    expect(await secondClient.emitAck("UNMUTE_USER", { user_id: first.id })).toMatchObject({
      ok: false,
      error: { code: "PERMISSION_DENIED" },
    });
    expect((await setPolicy(first.token, room.room_id, { succession: "ANYONE" })).status).toBe(403);
    expect((await setPolicy(host.token, room.room_id, { succession: "SOMEONE" })).status).toBe(400);
  });
});

describe("host succession", () => {
  it("COHOST: when grace runs out the longest-present co-host becomes host; the room stays live", async () => {
    const { host, room, second, hostClient, firstClient, secondClient } = await hostAndTwo();
    await setPolicy(host.token, room.room_id, { succession: "COHOST" });
    // The second viewer is the co-host although the first has been present longer.
    await setCohost(host.token, room.room_id, second.id);
    await firstClient.waitFor("COHOSTS_CHANGED");
    await hostClient.close();
    await firstClient.waitFor("HOST_DISCONNECTED");
    const changed = await firstClient.waitFor("HOST_CHANGED", 8000);
    expect(changed).toMatchObject({ host_id: second.id, host: second.display_name, previous_host_id: host.id, reason: "succession" });
    expect(Date.parse(changed.reclaim_until)).toBeGreaterThan(Date.now() + 500_000);
    expect(await secondClient.waitFor("HOST_CHANGED")).toMatchObject({ host_id: second.id });
    const row = await roomRow(room.room_id);
    expect(row).toMatchObject({ state: "LIVE", host_id: second.id, previous_host_id: host.id, grace_ends_at: null });
    expect(await audit(room.room_id, "host.succeeded")).toMatchObject([{ data: { from: host.id, to: second.id, cohost: true } }]);
    // The new host drives; the roster says so; the former co-host flag is gone (they are host now).
    expect(await secondClient.emitAck("PLAY", { time: 1 })).toMatchObject({ ok: true });
    const roster = await firstClient.waitFor("ROOM_PARTICIPANTS");
    expect(roster.host).toBe(second.display_name);
    expect(roster.members.find((m: any) => m.id === second.id)).toMatchObject({ is_host: true, is_cohost: false });
    firstClient.send({ type: "PAUSE", time: 2 });
    expect(await firstClient.waitFor("ERROR")).toMatchObject({ code: "PERMISSION_DENIED" });
    // The public listing counts the new host as present.
    const listed = (await t.api.get("/api/rooms/public/")).body.find((r: any) => r.code === room.code);
    expect(listed).toBeDefined();
  });

  it("ANYONE without co-hosts: the longest-present registered viewer takes over; guests never do", async () => {
    const { host, room, earlyGuest, early, late } = await party(t, {
      members: { earlyGuest: guest("EarlyGuest"), early: registered(), late: registered() },
    });
    await setPolicy(host.token, room.room_id, { succession: "ANYONE" });
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const clients = [];
    for (const u of [earlyGuest, late, early]) {
      const c = rawClient(t.baseUrl, room.code, u.token);
      await c.drainJoin();
      clients.push(c);
    }
    await hostClient.close();
    // `late` joined the room last but has been connected longer than `early`.
    expect(await clients[0]!.waitFor("HOST_CHANGED", 8000)).toMatchObject({ host_id: late.id, reason: "succession" });
  });

  it("COHOST with no co-host present: the room expires as before", async () => {
    const { host, room, first, hostClient, firstClient, secondClient } = await hostAndTwo();
    await setPolicy(host.token, room.room_id, { succession: "COHOST" });
    await setCohost(host.token, room.room_id, first.id);
    await firstClient.waitFor("COHOSTS_CHANGED");
    await firstClient.close();
    await hostClient.close();
    await secondClient.waitFor("ROOM_EXPIRED", 8000);
    expect((await roomRow(room.room_id)).state).toBe("EXPIRED");
    await secondClient.closed;
  });

  it("succession happens once however many times expiry runs", async () => {
    const { host, room, hostClient, firstClient } = await hostAndTwo();
    await setPolicy(host.token, room.room_id, { succession: "ANYONE", cohosts_moderate: true });
    await hostClient.close();
    await firstClient.waitFor("HOST_DISCONNECTED");
    // Run the end of grace several times at once, as a re-run job, the sweep and a join could.
    await db().updateTable("rooms").set({ grace_ends_at: sql`now() - interval '1 second'` }).where("id", "=", room.room_id).execute();
    const lifecycle = t.app.realtime.lifecycle;
    const results = await Promise.all([lifecycle.expire(room.room_id), lifecycle.expire(room.room_id), lifecycle.sweep()]);
    expect(results.slice(0, 2)).toEqual([false, false]);
    await firstClient.waitFor("HOST_CHANGED");
    expect(await audit(room.room_id, "host.succeeded")).toHaveLength(1);
    expect(await audit(room.room_id, "room.expired")).toHaveLength(0);
    expect((await roomRow(room.room_id)).state).toBe("LIVE");
    await firstClient.expectNone(300, "HOST_CHANGED");
  });
});

describe("reclaim", () => {
  async function succeeded() {
    const p = await hostAndTwo();
    await setPolicy(p.host.token, p.room.room_id, { succession: "ANYONE" });
    await p.hostClient.close();
    await p.firstClient.waitFor("HOST_CHANGED", 8000);
    await p.secondClient.waitFor("HOST_CHANGED");
    return p;
  }

  it("the previous host comes back as a viewer, reclaims by event, and drives again", async () => {
    const { host, room, first, firstClient, secondClient } = await succeeded();
    const back = sioClient(t.baseUrl, room.code, host.token);
    await back.drainJoin();
    expect((await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token })).body).toMatchObject({ is_host: false });
    expect(Date.parse((await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token })).body.reclaim_until)).toBeGreaterThan(
      Date.now(),
    );
    expect(await back.emitAck("PLAY", { time: 3 })).toMatchObject({ ok: false, error: { code: "PERMISSION_DENIED" } });
    // Nobody else can reclaim.
    expect(await secondClient.emitAck("RECLAIM_HOST", {})).toMatchObject({ ok: false, error: { code: "PERMISSION_DENIED" } });
    expect(await back.emitAck("RECLAIM_HOST", {})).toEqual({ ok: true });
    expect(await firstClient.waitFor("HOST_CHANGED")).toMatchObject({
      host_id: host.id,
      previous_host_id: first.id,
      reason: "reclaimed",
      reclaim_until: null,
    });
    expect(await back.emitAck("PLAY", { time: 3 })).toMatchObject({ ok: true });
    firstClient.send({ type: "PAUSE", time: 4 });
    expect(await firstClient.waitFor("ERROR")).toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await audit(room.room_id, "host.reclaimed")).toMatchObject([{ actor_id: host.id, data: { from: first.id } }]);
    // Once only.
    expect(await back.emitAck("RECLAIM_HOST", {})).toMatchObject({ ok: false, error: { code: "PERMISSION_DENIED" } });
  });

  it("over REST too, while connected and within the window", async () => {
    const { host, room, firstClient, secondClient } = await succeeded();
    const away = await t.api.post("/api/rooms/reclaim-host/", { room_id: room.room_id }, { token: host.token });
    expect(away.body).toMatchObject({ code: "CONFLICT", error: "Connect to the room to reclaim it" });
    const back = rawClient(t.baseUrl, room.code, host.token);
    await back.drainJoin();
    await db().updateTable("rooms").set({ reclaim_until: sql`now() - interval '1 second'` }).where("id", "=", room.room_id).execute();
    const late = await t.api.post("/api/rooms/reclaim-host/", { room_id: room.room_id }, { token: host.token });
    expect(late.status).toBe(403);
    await db().updateTable("rooms").set({ reclaim_until: sql`now() + interval '1 minute'` }).where("id", "=", room.room_id).execute();
    const res = await t.api.post("/api/rooms/reclaim-host/", { room_id: room.room_id }, { token: host.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ room_id: room.room_id, reclaimed: true });
    expect(await secondClient.waitFor("HOST_CHANGED")).toMatchObject({ host_id: host.id, reason: "reclaimed" });
    expect(await roomRow(room.room_id)).toMatchObject({ host_id: host.id, state: "LIVE", previous_host_id: null });
    expect(await back.waitFor("HOST_CHANGED")).toMatchObject({ host_id: host.id });
    back.send({ type: "SEEK", time: 9 });
    expect(await firstClient.waitFor("PLAYBACK_STATE")).toMatchObject({ time: 9 });
  });
});
