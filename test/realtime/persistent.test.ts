/**
 * Persistent rooms: a host keeps a room (REST or SET_PERSISTENT), its grace then ends in RESTING
 * instead of EXPIRED (playback paused; chat, queue, settings and bans kept), and the host's return
 * (or a successor's, by policy) makes it LIVE again. Staff can still expire or delete it; the public
 * listing leaves resting rooms out. On both transports (the party's seats) and both backends.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";
import { guest, party, registered } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ GRACE_PERIOD_SECONDS: "1", PERSISTENT_ROOMS_PER_HOST: "2" });
});
afterAll(() => t?.stop());

const db = () => t.app.database.db;
const roomRow = (id: string) => db().selectFrom("rooms").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
const audit = (roomId: string, event: string) =>
  db().selectFrom("room_events").selectAll().where("room_id", "=", roomId).where("event", "=", event).execute();
const keep = (token: string, roomId: string, persistent = true) =>
  t.api.post("/api/rooms/persistent/", { room_id: roomId, persistent }, { token });

const transports = [
  ["ws", "socket.io"],
  ["socket.io", "ws"],
] as const;

describe.each(transports)("persistent rooms (host %s, viewer %s)", (hostTransport, viewerTransport) => {
  it("a kept room rests when grace runs out, keeps its chat and queue, and is LIVE again when the host returns", async () => {
    const { host, room, viewer, hostClient, viewerClient } = await party(t, {
      transport: hostTransport,
      members: { viewer: guest("Pal", { transport: viewerTransport }) },
      hostSeesJoin: true,
    });
    const res = await keep(host.token, room.room_id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ room_id: room.room_id, is_persistent: true });
    expect(await viewerClient.waitFor("ROOM_PERSISTENCE")).toMatchObject({ is_persistent: true });
    hostClient.send({ type: "PLAY", time: 5 });
    await viewerClient.waitFor("PLAYBACK_STATE");
    viewerClient.send({ type: "CHAT_MESSAGE", message: "still here" });
    await viewerClient.waitFor("CHAT_MESSAGE");

    await hostClient.close();
    await viewerClient.waitFor("HOST_DISCONNECTED");
    const rested = await viewerClient.waitFor("ROOM_RESTING", 8000);
    expect(Date.parse(rested.rested_at)).toBeGreaterThan(Date.now() - 10_000);
    // Nobody hosts a resting room: playback pauses where it was.
    const paused = await viewerClient.waitFor("PLAYBACK_STATE");
    expect(paused).toMatchObject({ is_playing: false });
    expect(paused.time).toBeGreaterThanOrEqual(5);
    const row = await roomRow(room.room_id);
    expect(row).toMatchObject({ state: "RESTING", is_persistent: true, grace_ends_at: null });
    expect(await audit(room.room_id, "room.rested")).toHaveLength(1);
    expect(await audit(room.room_id, "room.expired")).toHaveLength(0);
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: viewer.token });
    expect(detail.body).toMatchObject({ state: "RESTING", is_active: true, is_persistent: true, rested_at: rested.rested_at });
    // Resting rooms are not in the public listing.
    expect((await t.api.get("/api/rooms/public/")).body.find((r: any) => r.code === room.code)).toBeUndefined();

    // A newcomer finds it at rest, with its chat.
    const late = await t.api.guest("Late");
    expect((await t.api.join(late.token, room.code)).status).toBe(200);
    const lateClient = (viewerTransport === "ws" ? rawClient : sioClient)(t.baseUrl, room.code, late.token);
    const history = await lateClient.waitFor("CHAT_HISTORY");
    expect(history.messages.map((m: any) => m.message)).toContain("still here");
    expect(await lateClient.waitFor("ROOM_RESTING")).toEqual({ type: "ROOM_RESTING", rested_at: rested.rested_at });

    // The host comes back: LIVE, everyone is told.
    const back = (hostTransport === "ws" ? rawClient : sioClient)(t.baseUrl, room.code, host.token);
    await back.drainJoin();
    await viewerClient.waitFor("HOST_RECONNECTED");
    expect(await roomRow(room.room_id)).toMatchObject({ state: "LIVE", rested_at: null });
    expect(await audit(room.room_id, "host.reconnected")).toMatchObject([{ data: { from_rest: true } }]);
    back.send({ type: "PLAY", time: 6 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: true });
  });
});

describe("keeping a room", () => {
  it("only the registered host keeps a room; a viewer and bad bodies are refused; SET_PERSISTENT answers with an ack", async () => {
    const { host, room, viewer, hostClient } = await party(t, { transport: "socket.io", members: { viewer: registered() } });
    expect((await keep(viewer.token, room.room_id)).body.code).toBe("PERMISSION_DENIED");
    expect(
      (await t.api.post("/api/rooms/persistent/", { room_id: room.room_id, persistent: "yes" }, { token: host.token })).body,
    ).toMatchObject({
      code: "VALIDATION_FAILED",
    });
    expect((await t.api.post("/api/rooms/persistent/", { room_id: "not-a-uuid", persistent: true }, { token: host.token })).status).toBe(
      400,
    );
    expect(await hostClient.emitAck("SET_PERSISTENT", { persistent: true })).toEqual({ ok: true, is_persistent: true });
    expect((await roomRow(room.room_id)).is_persistent).toBe(true);
    expect(await hostClient.emitAck("SET_PERSISTENT", { persistent: false })).toEqual({ ok: true, is_persistent: false });
    // Setting what is already set changes nothing: one timeline row per change.
    expect(await hostClient.emitAck("SET_PERSISTENT", { persistent: false })).toEqual({ ok: true, is_persistent: false });
    expect(await audit(room.room_id, "room.persistence_changed")).toHaveLength(2);
    expect(await hostClient.emitAck("SET_PERSISTENT", { persistent: "no" })).toMatchObject({
      ok: false,
      error: { code: "VALIDATION_FAILED" },
    });
  });

  it("a host keeps at most PERSISTENT_ROOMS_PER_HOST rooms, even asking for several at once", async () => {
    const host = await t.api.register();
    const rooms = await Promise.all([1, 2, 3, 4].map(() => t.api.createRoom(host.token)));
    const answers = await Promise.all(rooms.map((r) => keep(host.token, r.room_id)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 409, 409]);
    expect(answers.find((a) => a.status === 409)!.body).toMatchObject({ code: "CONFLICT", details: { limit: 2 } });
    // A place frees when a kept room is made ordinary again.
    const kept = rooms.filter((_, i) => answers[i]!.status === 200);
    const other = rooms.find((_, i) => answers[i]!.status === 409)!;
    expect((await keep(host.token, kept[0]!.room_id, false)).status).toBe(200);
    expect((await keep(host.token, other.room_id)).status).toBe(200);
  });

  it("an ordinary room still expires; a resting one stays persistent until woken; staff expire and delete resting rooms", async () => {
    const { host, room, hostClient, viewerClient } = await party(t, { transport: "ws", members: { viewer: guest("Pal") } });
    await hostClient.close();
    await viewerClient.waitFor("ROOM_EXPIRED", 8000);

    const kept = await party(t, { transport: "ws", members: { viewer: guest("Pal") } });
    await keep(kept.host.token, kept.room.room_id);
    await kept.hostClient.close();
    await kept.viewerClient.waitFor("ROOM_RESTING", 8000);
    expect((await keep(kept.host.token, kept.room.room_id, false)).body).toMatchObject({ code: "CONFLICT" });
    // Rest and expiry run once however often the end of grace is run (sweep, jobs).
    await Promise.all([t.app.realtime.lifecycle.sweep(), t.app.realtime.lifecycle.expire(kept.room.room_id)]);
    expect(await audit(kept.room.room_id, "room.rested")).toHaveLength(1);
    expect((await roomRow(kept.room.room_id)).state).toBe("RESTING");

    const staff = await t.api.register();
    await db().updateTable("users").set({ is_staff: true }).where("id", "=", staff.id).execute();
    const expired = await t.api.post("/api/admin/rooms/expire/", { room_id: kept.room.room_id }, { token: staff.token });
    expect(expired.body).toMatchObject({ state: "EXPIRED" });
    await kept.viewerClient.waitFor("ROOM_EXPIRED");
    expect(host.id).not.toBe(kept.host.id);
    expect(room.code).not.toBe(kept.room.code);
  });

  it("under a succession policy a registered member joining a resting room wakes it as its host", async () => {
    const { host, room, hostClient, viewer } = await party(t, { transport: "ws", members: { viewer: registered({ transport: null }) } });
    await keep(host.token, room.room_id);
    await t.api.post("/api/rooms/host-policy/", { room_id: room.room_id, succession: "ANYONE" }, { token: host.token });
    await hostClient.close();
    await vi.waitFor(async () => expect((await roomRow(room.room_id)).state).toBe("GRACE"));
    await db().updateTable("rooms").set({ grace_ends_at: sql`now() - interval '1 second'` }).where("id", "=", room.room_id).execute();
    await t.app.realtime.lifecycle.expire(room.room_id);
    expect((await roomRow(room.room_id)).state).toBe("RESTING");
    const client = rawClient(t.baseUrl, room.code, viewer.token);
    expect(await client.waitFor("HOST_CHANGED")).toMatchObject({ host_id: viewer.id, reason: "succession" });
    expect(await roomRow(room.room_id)).toMatchObject({ state: "LIVE", host_id: viewer.id, rested_at: null });
    expect(await audit(room.room_id, "host.succeeded")).toMatchObject([{ data: { from_rest: true } }]);
  });
});
