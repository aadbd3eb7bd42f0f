/**
 * The room timeline: playback rows with from/to, UNDO_SEEK, the append-only log in the
 * database, and GET /api/rooms/<code>/events/ (host and staff, newest first, cursor pages).
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { type sioClient, type TestClient, transports } from "../helpers/clients.js";
import { guest, party, type Transport } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

/** A public room: the host over `connect` (default Socket.IO), the guest "Watcher" (`viewer`) raw; the host has seen them join. */
const hostAndWatcher = (connect: Transport = "socket.io") =>
  party(t, { host: { transport: connect }, members: { viewer: guest("Watcher", { transport: "ws" }) }, hostSeesJoin: true });

/** Sends a command and returns its outcome: the ack (Socket.IO) or the PLAYBACK_STATE / ERROR it caused (raw). */
async function command(client: TestClient, message: Record<string, unknown>): Promise<{ ok: boolean; code?: string }> {
  if (client.kind === "socket.io") {
    const { type, ...payload } = message;
    const ack = await (client as ReturnType<typeof sioClient>).emitAck(type as string, payload);
    return ack.ok ? { ok: true } : { ok: false, code: ack.error.code };
  }
  client.send(message);
  for (;;) {
    const m = await client.next();
    if (m.type === "PLAYBACK_STATE") return { ok: true };
    if (m.type === "ERROR") return { ok: false, code: m.code };
  }
}

const playbackRows = (roomId: string) =>
  t.app.database.db
    .selectFrom("room_events")
    .select(["event", "actor_id", "data"])
    .where("room_id", "=", roomId)
    .where("event", "like", "playback.%")
    .orderBy("seq")
    .execute();

describe("playback in the timeline", () => {
  it("PLAY, PAUSE and SEEK are recorded with the actor, the position they replaced (from), the new one (to) and the version", async () => {
    const { host, room, hostClient } = await hostAndWatcher();
    const sio = hostClient as ReturnType<typeof sioClient>;
    expect(await sio.emitAck("PAUSE", { time: 10 })).toEqual({ ok: true, version: 1 });
    expect(await sio.emitAck("SEEK", { time: 42.5 })).toEqual({ ok: true, version: 2 });
    expect(await sio.emitAck("PLAY", { time: 40 })).toEqual({ ok: true, version: 3 });
    // A legacy client's copy of a start comes at its effective moment: the play head runs from then.
    await vi.waitFor(() => expect(sio.received.some((m) => m.type === "PLAYBACK_STATE" && m.version === 3)).toBe(true));
    // Time passing is the point: the next command's `from` is where the play head got to.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await sio.emitAck("SEEK", { time: 5 })).toEqual({ ok: true, version: 4 });
    // A stale command changes nothing, so it is not in the timeline.
    expect(await sio.emitAck("PAUSE", { time: 7, expected_version: 1 })).toMatchObject({ ok: false, error: { code: "STALE_VERSION" } });
    const rows = await playbackRows(room.room_id);
    expect(rows.map((r) => [r.event, r.actor_id, r.data.to, r.data.version])).toEqual([
      ["playback.pause", host.id, 10, 1],
      ["playback.seek", host.id, 42.5, 2],
      ["playback.play", host.id, 40, 3],
      ["playback.seek", host.id, 5, 4],
    ]);
    expect(rows.slice(0, 3).map((r) => r.data.from)).toEqual([0, 10, 42.5]);
    // While playing, `from` is where the play head had got to.
    expect(rows[3]!.data.from).toBeGreaterThan(40.25);
    expect(rows[3]!.data.from).toBeLessThan(42);
  });

  it("concurrent commands each record the position they replaced, and only their own", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const playback = t.app.services.playback;
    await playback.load(room.room_id);
    await Promise.all(Array.from({ length: 12 }, (_, i) => playback.apply(room.room_id, "SEEK", i + 1, { actorId: host.id })));
    const rows = (await playbackRows(room.room_id)).sort((a, b) => Number(a.data.version) - Number(b.data.version));
    expect(rows.map((r) => r.data.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    // Paused throughout: each seek replaced exactly the position the one before it set.
    for (const [i, row] of rows.entries()) expect(row.data.from).toBe(i === 0 ? 0 : rows[i - 1]!.data.to);
  });

  it("a source change records the actor and the old and new source", async () => {
    const { host, room } = await hostAndWatcher();
    const set = (video_id: string) =>
      t.api.post(
        "/api/rooms/source/",
        { room_id: room.room_id, provider: "vidking", video_id, media_type: "movie" },
        { token: host.token },
      );
    expect((await set("111")).status).toBe(200);
    expect((await set("222")).status).toBe(200);
    const rows = await t.app.database.db
      .selectFrom("room_events")
      .select(["actor_id", "data"])
      .where("room_id", "=", room.room_id)
      .where("event", "=", "room.source_changed")
      .orderBy("seq")
      .execute();
    const movie = (external_id: string) => ({ provider: "vidking", media_type: "movie", external_id, season: null, episode: null });
    expect(rows).toEqual([
      { actor_id: host.id, data: { from: null, to: movie("111"), version: 1 } },
      { actor_id: host.id, data: { from: movie("111"), to: movie("222"), version: 2 } },
    ]);
  });
});

describe("UNDO_SEEK", () => {
  it.each(transports)(
    "over %s: undoes the latest seek, then the one before (not the undo), keeps the play state, then NOTHING_TO_UNDO",
    async (_n, connect) => {
      const { host, room, hostClient, viewerClient } = await hostAndWatcher(connect);
      expect(await command(hostClient, { type: "PAUSE", time: 10 })).toEqual({ ok: true });
      expect(await command(hostClient, { type: "SEEK", time: 100 })).toEqual({ ok: true });
      expect(await command(hostClient, { type: "SEEK", time: 200 })).toEqual({ ok: true });
      for (const type of ["PAUSE", "SEEK", "SEEK"])
        expect((await viewerClient.waitFor("PLAYBACK_STATE")).type, type).toBe("PLAYBACK_STATE");

      expect(await command(hostClient, { type: "UNDO_SEEK" })).toEqual({ ok: true });
      expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 100, version: 4 });
      expect(await command(hostClient, { type: "UNDO_SEEK" })).toEqual({ ok: true });
      expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 10, version: 5 });
      expect(await command(hostClient, { type: "UNDO_SEEK" })).toEqual({ ok: false, code: "NOTHING_TO_UNDO" });
      await viewerClient.expectNone(100, "PLAYBACK_STATE");

      const rows = await playbackRows(room.room_id);
      const seeks = await t.app.database.db
        .selectFrom("room_events")
        .select("seq")
        .where("room_id", "=", room.room_id)
        .where("event", "=", "playback.seek")
        .orderBy("seq")
        .execute();
      expect(rows.slice(3)).toEqual([
        { event: "playback.seek_undone", actor_id: host.id, data: { from: 200, to: 100, version: 4, undone_seq: seeks[1]!.seq } },
        { event: "playback.seek_undone", actor_id: host.id, data: { from: 100, to: 10, version: 5, undone_seq: seeks[0]!.seq } },
      ]);
      const state = await t.app.database.db
        .selectFrom("playback_states")
        .select(["position_seconds", "is_playing", "version"])
        .where("room_id", "=", room.room_id)
        .executeTakeFirstOrThrow();
      expect(state).toEqual({ position_seconds: 10, is_playing: false, version: 5 });
    },
  );

  it("keeps playing when the room was playing; a resent command_id is not undone twice", async () => {
    const { hostClient, viewerClient } = await hostAndWatcher();
    const sio = hostClient as ReturnType<typeof sioClient>;
    await sio.emitAck("PLAY", { time: 5 });
    await sio.emitAck("SEEK", { time: 300 });
    await sio.emitAck("SEEK", { time: 600 });
    expect(await sio.emitAck("UNDO_SEEK", { command_id: "undo-1" })).toEqual({ ok: true, version: 4 });
    expect(await sio.emitAck("UNDO_SEEK", { command_id: "undo-1" })).toEqual({ ok: true, duplicate: true, version: 4 });
    let state: Awaited<ReturnType<typeof viewerClient.waitFor>>;
    do state = await viewerClient.waitFor("PLAYBACK_STATE");
    while (state.version < 4);
    expect(state.is_playing).toBe(true);
    expect(state.time).toBeGreaterThanOrEqual(300);
    expect(state.time).toBeLessThan(302);
    await viewerClient.expectNone(100, "PLAYBACK_STATE");
  });

  it("is refused to viewers, and has nothing to undo in a fresh room or across a source change", async () => {
    const { host, room, hostClient, viewerClient } = await hostAndWatcher();
    const sio = hostClient as ReturnType<typeof sioClient>;
    viewerClient.send({ type: "UNDO_SEEK" });
    expect(await viewerClient.waitFor("ERROR")).toEqual({
      type: "ERROR",
      code: "PERMISSION_DENIED",
      message: "Only host can control playback",
    });
    expect(await sio.emitAck("UNDO_SEEK", {})).toEqual({
      ok: false,
      error: { code: "NOTHING_TO_UNDO", message: "There is no seek to undo" },
    });
    expect(await sio.emitAck("SEEK", { time: 30 })).toMatchObject({ ok: true });
    viewerClient.send({ type: "UNDO_SEEK", command_id: "x" });
    expect((await viewerClient.waitFor("ERROR")).code).toBe("PERMISSION_DENIED");
    const res = await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "vidking", video_id: "42", media_type: "movie" },
      { token: host.token },
    );
    expect(res.status).toBe(200);
    // The seek was in the previous video: going back to it would make no sense.
    expect(await sio.emitAck("UNDO_SEEK", {})).toMatchObject({ ok: false, error: { code: "NOTHING_TO_UNDO" } });
    expect(await sio.emitAck("UNDO_SEEK", { command_id: "bad id!" })).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
  });
});

describe("the log is append-only in the database", () => {
  it("refuses UPDATE; a deleted room still takes its events with it", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    await t.api.join((await t.api.guest()).token, room.code);
    const db = t.app.database.db;
    await expect(db.updateTable("room_events").set({ event: "rewritten" }).where("room_id", "=", room.room_id).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(
      sql`UPDATE room_events SET created_at = now() - interval '1 day' WHERE room_id = ${room.room_id}`.execute(db),
    ).rejects.toThrow(/append-only/);
    const before = await db.selectFrom("room_events").select("id").where("room_id", "=", room.room_id).execute();
    expect(before.length).toBeGreaterThan(1);
    await db.deleteFrom("rooms").where("id", "=", room.room_id).where("host_id", "=", host.id).execute();
    expect(await db.selectFrom("room_events").select("id").where("room_id", "=", room.room_id).execute()).toEqual([]);
  });
});

describe("GET /api/rooms/<code>/events/", () => {
  it("the host reads the timeline newest first, with actors, reasons and data", async () => {
    const { host, room, viewer, hostClient } = await hostAndWatcher();
    const sio = hostClient as ReturnType<typeof sioClient>;
    await sio.emitAck("SEEK", { time: 12 });
    expect(await sio.emitAck("MUTE_USER", { user_id: viewer.id, reason: "caps lock", duration_seconds: 600 })).toEqual({ ok: true });
    const res = await t.api.get(`/api/rooms/${room.code.toLowerCase()}/events/`, { token: host.token });
    expect(res.status).toBe(200);
    const { events, next_before } = res.body;
    expect(next_before).toBeNull();
    expect(events.map((e: { event: string }) => e.event)).toEqual([
      "moderation.muted",
      "playback.seek",
      "room.live",
      "participant.joined",
      "room.created",
    ]);
    expect(events[0]).toEqual({
      id: expect.any(String),
      seq: expect.any(Number),
      event: "moderation.muted",
      actor: { id: host.id, display_name: host.display_name },
      reason: "caps lock",
      data: { user_id: viewer.id, duration_seconds: 600, expires_at: expect.any(String) },
      created_at: expect.any(String),
    });
    expect(events[1]).toMatchObject({ actor: { id: host.id }, reason: null, data: { from: 0, to: 12, version: 1 } });
    expect(events[3].actor).toEqual({ id: viewer.id, display_name: "Watcher" });
    const seqs = events.map((e: { seq: number }) => e.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    // The same under /api/v1, without the trailing slash.
    const v1 = await t.api.get(`/api/v1/rooms/${room.code}/events`, { token: host.token });
    expect(v1.status).toBe(200);
    expect(v1.body).toEqual(res.body);
  });

  it("pages with before/limit (next_before until the last page) and filters by type prefix", async () => {
    const { host, room, hostClient } = await hostAndWatcher();
    const sio = hostClient as ReturnType<typeof sioClient>;
    for (let i = 1; i <= 6; i += 1) await sio.emitAck("SEEK", { time: i });
    const all = (await t.api.get(`/api/rooms/${room.code}/events/?limit=100`, { token: host.token })).body.events as {
      seq: number;
      event: string;
    }[];
    const paged: { seq: number }[] = [];
    let before: number | null | undefined;
    let pages = 0;
    do {
      const res = await t.api.get(`/api/rooms/${room.code}/events/?limit=4${before ? `&before=${before}` : ""}`, { token: host.token });
      expect(res.status).toBe(200);
      expect(res.body.events.length).toBeLessThanOrEqual(4);
      paged.push(...res.body.events);
      before = res.body.next_before;
      pages += 1;
    } while (before !== null);
    expect(pages).toBe(Math.ceil(all.length / 4));
    expect(paged).toEqual(all);
    const seeks = await t.api.get(`/api/rooms/${room.code}/events/?type=playback.&limit=5`, { token: host.token });
    expect(seeks.body.events.map((e: { data: { to: number } }) => e.data.to)).toEqual([6, 5, 4, 3, 2]);
    expect(seeks.body.next_before).toBe(seeks.body.events[4].seq);
    const rest = await t.api.get(`/api/rooms/${room.code}/events/?type=playback.&before=${seeks.body.next_before}`, { token: host.token });
    expect(rest.body).toEqual({ events: [expect.objectContaining({ data: { from: 0, to: 1, version: 1 } })], next_before: null });
    // A prefix means itself: LIKE wildcards match nothing.
    expect((await t.api.get(`/api/rooms/${room.code}/events/?type=%25`, { token: host.token })).body.events).toEqual([]);
    expect((await t.api.get(`/api/rooms/${room.code}/events/?type=playback_`, { token: host.token })).body.events).toEqual([]);
    for (const bad of ["limit=0", "limit=101", "limit=x", "before=0", "before=1.5", "type="]) {
      const res = await t.api.get(`/api/rooms/${room.code}/events/?${bad}`, { token: host.token });
      expect(`${bad}: ${res.status} ${res.body.code}`).toBe(`${bad}: 400 VALIDATION_FAILED`);
    }
  });

  it("only the host and staff: members and strangers get 403, anonymous 401, an unknown room 404", async () => {
    const { room, viewer } = await hostAndWatcher();
    const stranger = await t.api.register();
    const staff = await t.api.register();
    await t.app.database.db.updateTable("users").set({ is_staff: true }).where("id", "=", staff.id).execute();
    const get = (token?: string, code = room.code) => t.api.get(`/api/rooms/${code}/events/`, token ? { token } : {});
    const denied = await get(viewer.token);
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ error: "Only host can view the room timeline", code: "PERMISSION_DENIED" });
    expect((await get(stranger.token)).body.code).toBe("PERMISSION_DENIED");
    expect((await get()).status).toBe(401);
    expect((await get(stranger.token, "ZZZZZZ")).status).toBe(404);
    const forStaff = await get(staff.token);
    expect(forStaff.status).toBe(200);
    expect(forStaff.body.events.at(-1).event).toBe("room.created");
  });

  it("is in the OpenAPI document", async () => {
    const schema = await t.api.get("/api/schema/");
    const op = schema.body.paths["/api/rooms/{room_code}/events/"].get;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "401", "403", "404"]));
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(["before", "limit", "room_code", "type"]);
  });
});
