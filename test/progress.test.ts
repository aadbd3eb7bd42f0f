import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

async function roomWithMember() {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  return { host, room };
}

describe("progress save/get", () => {
  it("upserts one row per media identity and returns the serializer shape", async () => {
    const { host, room } = await roomWithMember();
    const body = { room_id: room.room_id, media_id: "299534", media_type: "movie", timestamp: 120, duration: 7200, progress_percent: 1.6 };
    const first = await t.api.post("/api/rooms/progress/save/", body, { token: host.token });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      room: room.room_id,
      media_id: "299534",
      media_type: "movie",
      season: null,
      episode: null,
      timestamp: 120,
      duration: 7200,
      progress_percent: 1.6,
      completed: false,
      updated_at: expect.stringMatching(/Z$/),
    });
    await t.api.post("/api/rooms/progress/save/", { ...body, timestamp: 240 }, { token: host.token });
    const rows = await t.app.database.db.selectFrom("watch_progress").selectAll().where("room_id", "=", room.room_id).execute();
    expect(rows).toHaveLength(1);
    const got = await t.api.get(`/api/rooms/progress/get/?room_id=${room.room_id}&media_id=299534&media_type=movie`, { token: host.token });
    expect(got.body.timestamp).toBe(240);
  });

  it("keeps TV episodes apart and finds each one; without season/episode returns the latest", async () => {
    const { host, room } = await roomWithMember();
    const base = { room_id: room.room_id, media_id: "119051", media_type: "tv" };
    await t.api.post("/api/rooms/progress/save/", { ...base, season: 1, episode: 1, timestamp: 100 }, { token: host.token });
    await t.api.post("/api/rooms/progress/save/", { ...base, season: 1, episode: 2, timestamp: 200 }, { token: host.token });
    await t.api.post("/api/rooms/progress/save/", { ...base, season: 1, episode: 1, timestamp: 150 }, { token: host.token });
    const q = `/api/rooms/progress/get/?room_id=${room.room_id}&media_id=119051&media_type=tv`;
    expect((await t.api.get(`${q}&season=1&episode=2`, { token: host.token })).body.timestamp).toBe(200);
    expect((await t.api.get(`${q}&season=1&episode=1`, { token: host.token })).body.timestamp).toBe(150);
    const latest = await t.api.get(q, { token: host.token });
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ season: 1, episode: 1, timestamp: 150 });
    expect((await t.api.get(`${q}&season=9&episode=9`, { token: host.token })).body).toEqual({ progress: null });
  });

  it("concurrent saves of the same identity never fail and leave one row", async () => {
    const { host, room } = await roomWithMember();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.api.post(
          "/api/rooms/progress/save/",
          { room_id: room.room_id, media_id: "m", media_type: "movie", timestamp: i },
          { token: host.token },
        ),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const rows = await t.app.database.db.selectFrom("watch_progress").selectAll().where("room_id", "=", room.room_id).execute();
    expect(rows).toHaveLength(1);
  });

  it("requires room membership (the original let anyone write)", async () => {
    const { room } = await roomWithMember();
    const stranger = await t.api.register();
    const res = await t.api.post(
      "/api/rooms/progress/save/",
      { room_id: room.room_id, media_id: "1", media_type: "movie" },
      { token: stranger.token },
    );
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("NOT_A_PARTICIPANT");
    const get = await t.api.get(`/api/rooms/progress/get/?room_id=${room.room_id}&media_id=1&media_type=movie`, { token: stranger.token });
    expect(get.status).toBe(403);
    const unknown = await t.api.post(
      "/api/rooms/progress/save/",
      { room_id: "00000000-0000-4000-8000-000000000000", media_id: "1", media_type: "movie" },
      { token: stranger.token },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("Room not found");
  });

  it("validates every field with clear errors", async () => {
    const { host, room } = await roomWithMember();
    const save = (body: object) => t.api.post("/api/rooms/progress/save/", body, { token: host.token });
    expect((await save({})).body.error).toBe("room_id required");
    expect((await save({ room_id: room.room_id })).body.error).toBe("media_id and media_type required");
    expect((await save({ room_id: room.room_id, media_id: "1", media_type: "vidking" })).body.error).toBe("media_type must be movie or tv");
    expect((await save({ room_id: room.room_id, media_id: "1", media_type: "tv" })).body.error).toBe(
      "TV progress requires season and episode",
    );
    for (const bad of [{ timestamp: -1 }, { timestamp: "12" }, { progress_percent: 101 }, { duration: null }, { completed: "yes" }]) {
      const res = await save({ room_id: room.room_id, media_id: "1", media_type: "movie", ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    const get = await t.api.get(`/api/rooms/progress/get/?room_id=${room.room_id}`, { token: host.token });
    expect(get.status).toBe(400);
    expect(get.body.error).toBe("room_id, media_id and media_type required");
  });
});

describe("resume", () => {
  it("returns zeros with no progress, else the latest row", async () => {
    const { host, room } = await roomWithMember();
    const none = await t.api.get(`/api/rooms/${room.code}/resume/`, { token: host.token });
    expect(none.body).toEqual({ progress_percent: 0, last_position_seconds: 0, completed: false });
    await t.api.post(
      "/api/rooms/progress/save/",
      { room_id: room.room_id, media_id: "299534", media_type: "movie", timestamp: 300, progress_percent: 55 },
      { token: host.token },
    );
    const res = await t.api.get(`/api/rooms/${room.code}/resume/`, { token: host.token });
    expect(res.body).toMatchObject({ progress_percent: 55, last_position_seconds: 300, completed: false, media_id: "299534" });
    expect((await t.api.get("/api/rooms/NOPE00/resume/", { token: host.token })).status).toBe(404);
    expect((await t.api.get(`/api/rooms/${room.code}/resume/`)).status).toBe(401);
  });
});
