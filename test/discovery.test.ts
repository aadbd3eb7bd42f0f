import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markLive } from "../src/lifecycle/transitions.js";
import { startApp, type TestApp } from "./helpers/app.js";
import { startTmdbStub, type TmdbStub } from "./helpers/tmdb-stub.js";

let t: TestApp;
let tmdb: TmdbStub;
beforeAll(async () => {
  tmdb = await startTmdbStub();
  t = await startApp({ TMDB_API_KEY: "stub-key", TMDB_BASE_URL: tmdb.url });
});
afterAll(async () => {
  await t?.stop();
  await tmdb?.close();
});

/** A LIVE room with its host and `viewers - 1` other users connected. */
async function liveRoom(viewers: number, opts: { isPrivate?: boolean; hostOnline?: boolean } = {}) {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token, opts.isPrivate ? { is_private: true, entry_mode: "APPROVAL" } : {});
  await markLive(t.app.database.db, room.room_id);
  if (opts.hostOnline !== false) void t.app.realtime.state.presence.connect(room.room_id, host.id, host.id, `c-${host.id}`);
  for (let i = 1; i < viewers; i += 1)
    void t.app.realtime.state.presence.connect(room.room_id, host.id, `viewer-${i}`, `c-${`viewer-${i}`}`);
  return { host, room };
}

describe("public rooms", () => {
  it("lists LIVE public rooms whose host is connected, newest first, with distinct viewers", async () => {
    const a = await liveRoom(3);
    const b = await liveRoom(1);
    await liveRoom(5, { isPrivate: true });
    await liveRoom(4, { hostOnline: false });
    const created = await t.api.createRoom((await t.api.register()).token); // CREATED: not listed
    // A second tab of the same user does not add a viewer.
    void t.app.realtime.state.presence.connect(a.room.room_id, a.host.id, "viewer-1", `c-${"viewer-1"}`);

    const res = await t.api.get("/api/rooms/public/");
    expect(res.status).toBe(200);
    expect(res.body.map((r: any) => r.code)).toEqual([b.room.code, a.room.code]);
    expect(res.body[1]).toEqual({ code: a.room.code, host: a.host.display_name, viewers: 3, created_at: expect.any(String) });
    expect(res.body.some((r: any) => r.code === created.code)).toBe(false);

    const byViewers = await t.api.get("/api/rooms/public/?sort=viewers&limit=1");
    expect(byViewers.body.map((r: any) => r.code)).toEqual([a.room.code]);
    const offset = await t.api.get("/api/rooms/public/?sort=viewers&limit=1&offset=1");
    expect(offset.body.map((r: any) => r.code)).toEqual([b.room.code]);
  });

  it("ignores a stale token on this public endpoint and validates its query", async () => {
    expect((await t.api.get("/api/rooms/public/", { token: "stale.token.value" })).status).toBe(200);
    for (const q of ["sort=popular", "limit=0", "limit=1000", "offset=-1", "limit=abc"]) {
      const res = await t.api.get(`/api/rooms/public/?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
  });

  it("allows normal polling but limits floods per client (429)", async () => {
    const ip = "127.7.7.7";
    const statuses: number[] = [];
    for (let i = 0; i < 121; i += 1) statuses.push((await t.api.get("/api/rooms/public/", { ip })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(120);
    expect(statuses[120]).toBe(429);
  });
});

describe("search", () => {
  const movie = { id: 123, media_type: "movie", title: "Test Movie", poster_path: "/poster.jpg", release_date: "2020-01-01" };
  const show = { id: 456, media_type: "tv", name: "A Show", poster_path: null, first_air_date: "bad" };
  const person = { id: 789, media_type: "person", name: "Someone" };

  it("returns normalized results from the provider and caches them (case and spacing aside)", async () => {
    tmdb.respond(200, { results: [movie, show, person] });
    const before = tmdb.requests.length;
    const res = await t.api.get("/api/rooms/search/?q=Test%20Movie");
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        provider: "vidking",
        stream_id: "123",
        media_type: "movie",
        title: "Test Movie",
        poster: "https://image.tmdb.org/t/p/w500/poster.jpg",
        release_year: 2020,
      },
      { provider: "vidking", stream_id: "456", media_type: "tv", title: "A Show", poster: null, release_year: null },
    ]);
    const sent = tmdb.requests.at(-1)!;
    expect(sent.pathname).toBe("/3/search/multi");
    expect(Object.fromEntries(sent.searchParams)).toEqual({ api_key: "stub-key", query: "Test Movie", page: "1" });
    const cached = await t.api.get("/api/rooms/search/?q=%20test%20%20movie%20");
    expect(cached.body).toEqual(res.body);
    expect(tmdb.requests.length).toBe(before + 1);
  });

  it("validates q and page with the original's messages", async () => {
    expect((await t.api.get("/api/rooms/search/")).body.error).toBe("q required");
    expect((await t.api.get("/api/rooms/search/?q=%20")).body.error).toBe("q required");
    expect((await t.api.get("/api/rooms/search/?q=x&page=abc")).body.error).toBe("page must be an integer");
    expect((await t.api.get("/api/rooms/search/?q=x&page=0")).body.error).toBe("page must be >= 1");
    const unknown = await t.api.get("/api/rooms/search/?q=x&provider=nope");
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe("UNKNOWN_PROVIDER");
  });

  it("maps provider failures to 502 and a missing API key to 503", async () => {
    tmdb.respond(500, { status_message: "boom" });
    const res = await t.api.get("/api/rooms/search/?q=failing");
    expect(res.status).toBe(502);
    expect(res.body.code).toBe("PROVIDER_ERROR");

    const noKey = await startApp({ TMDB_BASE_URL: tmdb.url });
    try {
      const r = await noKey.api.get("/api/rooms/search/?q=anything");
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: "TMDB_API_KEY is not configured", code: "PROVIDER_UNAVAILABLE" });
    } finally {
      await noKey.stop();
    }
  });
});
