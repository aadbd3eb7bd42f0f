/** Host-only playback with atomic versions, extrapolation for joiners, drift checks, progress. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, transports } from "../helpers/clients.js";
import { guest, party } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

/** A public room: the host over Socket.IO (acks), the guest "Watcher" (`viewer`) raw; the host has seen them join. */
const hostAndWatcher = () =>
  party(t, { host: { transport: "socket.io" }, members: { viewer: guest("Watcher", { transport: "ws" }) }, hostSeesJoin: true });

describe("playback", () => {
  it("host commands reach everyone with version, server_time and rate; SEEK keeps the play state", async () => {
    const { hostClient, viewerClient } = await hostAndWatcher();
    const before = Date.now();
    expect(await hostClient.emitAck("PLAY", { time: 10 })).toEqual({ ok: true, version: 1 });
    const play = await viewerClient.waitFor("PLAYBACK_STATE");
    expect(play).toMatchObject({ is_playing: true, time: 10, version: 1, rate: 1 });
    expect(play.server_time).toBeGreaterThanOrEqual(before - 1000);
    expect(await hostClient.waitFor("PLAYBACK_STATE")).toEqual(play);
    hostClient.send({ type: "SEEK", time: 42.5 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: true, time: 42.5, version: 2 });
    hostClient.send({ type: "PAUSE", time: 50 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 50, version: 3 });
    hostClient.send({ type: "SEEK", time: 5 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 5, version: 4 });
  });

  it("non-hosts cannot control playback; their PLAYER_EVENTs are ignored", async () => {
    const { hostClient, viewerClient } = await hostAndWatcher();
    viewerClient.send({ type: "PLAY", time: 100 });
    expect(await viewerClient.waitFor("ERROR")).toEqual({
      type: "ERROR",
      code: "PERMISSION_DENIED",
      message: "Only host can control playback",
    });
    viewerClient.send({ type: "PLAYER_EVENT", data: { event: "ended", currentTime: 1, duration: 1, progress: 100 } });
    await viewerClient.expectNone(150);
    await hostClient.expectNone(0, "PLAYBACK_STATE");
  });

  it("concurrent commands from several host tabs get distinct, gap-free versions", async () => {
    const { host, room, hostClient } = await hostAndWatcher();
    const tab2 = sioClient(t.baseUrl, room.code, host.token);
    await tab2.drainJoin();
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? hostClient : tab2).emitAck(i % 3 ? "SEEK" : "PLAY", { time: i })),
    );
    expect(acks.map((a) => a.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const row = await t.app.database.db
      .selectFrom("playback_states")
      .select("version")
      .where("room_id", "=", room.room_id)
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(10);
  });

  it("a late joiner gets the extrapolated position while playing", async () => {
    const { room, viewer, hostClient, viewerClient } = await hostAndWatcher();
    await hostClient.emitAck("PLAY", { time: 100 });
    // The legacy viewer's copy comes at the start's effective moment: the play head runs from then.
    await viewerClient.waitFor("PLAYBACK_STATE");
    await viewerClient.close();
    // Time passing is the point: the joiner's position is extrapolated over it.
    await new Promise((r) => setTimeout(r, 400));
    const late = rawClient(t.baseUrl, room.code, viewer.token);
    const state = (await late.drainJoin()).find((m) => m.type === "PLAYBACK_STATE")!;
    expect(state.is_playing).toBe(true);
    expect(state.time).toBeGreaterThan(100.3);
    expect(state.time).toBeLessThan(102);
    expect(state.version).toBe(1);
  });

  it("SYNC_CHECK corrects drift over the threshold against the extrapolated position only", async () => {
    const { hostClient, viewerClient } = await hostAndWatcher();
    await hostClient.emitAck("PAUSE", { time: 100 });
    viewerClient.send({ type: "SYNC_CHECK", client_time: 98 });
    viewerClient.send({ type: "SYNC_CHECK", client_time: 90 });
    const correction = await viewerClient.waitFor("SYNC_CORRECTION");
    expect(correction).toMatchObject({ time: 100, version: 1, is_playing: false });
    await viewerClient.expectNone(100, "SYNC_CORRECTION");
    await hostClient.emitAck("PLAY", { time: 200 });
    // Time passing is the point: the anchor stays at 200 while a playing client moves on.
    await new Promise((r) => setTimeout(r, 1200));
    // A client that kept playing is ~1.2 s ahead of the anchor: not "corrected" backwards.
    expect(await (hostClient as ReturnType<typeof sioClient>).emitAck("SYNC_CHECK", { client_time: 201.2 })).toMatchObject({
      ok: true,
      corrected: false,
    });
  });

  it("TIME_SYNC answers with the server clock", async () => {
    const { viewerClient } = await hostAndWatcher();
    viewerClient.send({ type: "TIME_SYNC", client_ts: 12345 });
    const reply = await viewerClient.waitFor("TIME_SYNC");
    expect(reply.client_ts).toBe(12345);
    expect(Math.abs(reply.server_ts - Date.now())).toBeLessThan(2000);
  });

  it("host PLAYER_EVENTs store progress under the room's real media identity; ended completes it", async () => {
    const { host, room, hostClient, viewerClient } = await hostAndWatcher();
    await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "vidking", video_id: "119051", media_type: "tv", season: 2, episode: 3 },
      { token: host.token },
    );
    expect(await viewerClient.waitFor("SOURCE_CHANGED")).toMatchObject({
      video_id: "119051",
      media_type: "tv",
      season: 2,
      episode: 3,
      embed_url: "https://www.vidking.net/embed/tv/119051/2/3",
    });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 0, version: 1 });
    const sio = hostClient as ReturnType<typeof sioClient>;
    await sio.emitAck("PLAYER_EVENT", { data: { event: "pause", currentTime: 60, duration: 1200, progress: 5 } });
    await sio.emitAck("PLAYER_EVENT", { data: { event: "ended", currentTime: 1199, duration: 1200, progress: 99.9 } });
    const rows = await t.app.database.db.selectFrom("watch_progress").selectAll().where("room_id", "=", room.room_id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      user_id: host.id,
      media_id: "119051",
      media_type: "tv",
      season: 2,
      episode: 3,
      progress_percent: 100,
      completed: true,
      timestamp_seconds: 1200,
    });
  });
});

describe("commands that cannot fight (command_id, expected_version)", () => {
  it("a resent command_id is a no-op, even from another tab; a failed one may be retried", async () => {
    const { host, room, hostClient, viewerClient } = await hostAndWatcher();
    expect(await hostClient.emitAck("PLAY", { time: 10, command_id: "c-1" })).toEqual({ ok: true, version: 1 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ version: 1, time: 10 });
    expect(await hostClient.emitAck("PLAY", { time: 10, command_id: "c-1" })).toEqual({ ok: true, duplicate: true, version: 1 });
    const otherTab = rawClient(t.baseUrl, room.code, host.token);
    await otherTab.drainJoin();
    otherTab.send({ type: "PAUSE", time: 12, command_id: "c-1" });
    otherTab.send({ type: "TIME_SYNC", client_ts: 1 });
    await otherTab.waitFor("TIME_SYNC"); // the duplicate was handled before this
    await viewerClient.expectNone(100, "PLAYBACK_STATE");
    // A refused command (stale) releases its id: the same id applies once the state is right.
    expect(await hostClient.emitAck("PAUSE", { time: 12, command_id: "c-2", expected_version: 0 })).toMatchObject({
      ok: false,
      error: { code: "STALE_VERSION" },
    });
    expect(await hostClient.emitAck("PAUSE", { time: 12, command_id: "c-2", expected_version: 1 })).toEqual({ ok: true, version: 2 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ version: 2, is_playing: false, time: 12 });
  });

  it.each(transports)(
    "a stale expected_version over %s gets STALE_VERSION and the current state, and changes nothing",
    async (_n, connect) => {
      const { host, room, hostClient, viewerClient } = await hostAndWatcher();
      expect(await hostClient.emitAck("SEEK", { time: 30, expected_version: 0 })).toEqual({ ok: true, version: 1 });
      await viewerClient.waitFor("PLAYBACK_STATE");
      const second = connect(t.baseUrl, room.code, host.token);
      await second.drainJoin();
      second.send({ type: "PLAY", time: 5, expected_version: 0 });
      expect(await second.waitFor("PLAYBACK_STATE")).toMatchObject({ version: 1, time: 30, is_playing: false });
      expect(await second.waitFor("ERROR")).toEqual({
        type: "ERROR",
        code: "STALE_VERSION",
        message: "The playback state is at version 1, not 0",
      });
      await viewerClient.expectNone(150, "PLAYBACK_STATE");
      const row = await t.app.database.db
        .selectFrom("playback_states")
        .select(["version", "position_seconds"])
        .where("room_id", "=", room.room_id)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ version: 1, position_seconds: 30 });
      second.send({ type: "PLAY", time: 5, expected_version: 1 });
      expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ version: 2, is_playing: true, time: 5 });
    },
  );

  it.each(transports)("bad command_id / expected_version over %s are VALIDATION_FAILED", async (_n, connect) => {
    const { host, room, viewerClient } = await hostAndWatcher();
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    for (const bad of [
      { command_id: "" },
      { command_id: "x".repeat(65) },
      { command_id: "no spaces" },
      { command_id: 7 },
      { expected_version: -1 },
      { expected_version: 1.5 },
      { expected_version: "1" },
    ]) {
      client.send({ type: "SEEK", time: 1, ...bad });
      expect((await client.waitFor("ERROR")).code, JSON.stringify(bad)).toBe("VALIDATION_FAILED");
    }
    await viewerClient.expectNone(100, "PLAYBACK_STATE");
  });
});

describe.each(transports)("playback validation over %s", (_n, connect) => {
  it("rejects bad times and keeps the state", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    for (const time of [null, "12", -1, 1e12, {}, true]) {
      client.send({ type: "PLAY", time });
      expect((await client.waitFor("ERROR")).code).toBe("VALIDATION_FAILED");
    }
    client.send({ type: "PLAY" });
    expect((await client.waitFor("ERROR")).code).toBe("VALIDATION_FAILED");
    const row = await t.app.database.db
      .selectFrom("playback_states")
      .select("version")
      .where("room_id", "=", room.room_id)
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(0);
  });
});
