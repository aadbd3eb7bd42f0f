/** The `direct` provider: an http(s) media URL the browser plays itself, checked strictly, never fetched. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAppError } from "../../src/errors.js";
import { DIRECT_URL_MAX_LENGTH, DirectProvider } from "../../src/providers/direct.js";
import { ProviderRegistry } from "../../src/providers/registry.js";
import { TmdbClient } from "../../src/providers/tmdb.js";
import type { PlaybackSource } from "../../src/providers/types.js";
import { VidkingProvider } from "../../src/providers/vidking.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";
import { guest, party } from "../helpers/party.js";

const GOOD = "https://media.example.com/films/night%20of%20the%20living.mp4?token=abc#t=10";
const longUrl = (length: number) => {
  const base = "https://media.example.com/";
  return `${base}${"a".repeat(length - base.length - 4)}.mp4`;
};

/** Each class of bad URL, with the message the host gets. */
const BAD: [string, string, RegExp][] = [
  ["relative path", "/films/a.mp4", /must be absolute/],
  ["no scheme", "media.example.com/a.mp4", /must be absolute/],
  ["protocol-relative", "//media.example.com/a.mp4", /must be absolute/],
  ["scheme without //", "https:media.example.com/a.mp4", /must be absolute/],
  ["javascript:", "javascript:alert(document.cookie)", /must use https: or http:, not javascript:/],
  ["JavaScript: (case)", "JavaScript:alert(1)", /not javascript:/],
  ["data:", "data:video/mp4;base64,AAAAIGZ0eXA=", /not data:/],
  ["file:", "file:///etc/passwd", /not file:/],
  ["ftp:", "ftp://media.example.com/a.mp4", /not ftp:/],
  ["blob:", "blob:https://media.example.com/6b1f", /not blob:/],
  ["user and password", "https://user:secret@media.example.com/a.mp4", /credentials/],
  ["user only", "https://user@media.example.com/a.mp4", /credentials/],
  ["empty userinfo", "https://:@media.example.com/a.mp4", /credentials/],
  ["inner space", "https://media.example.com/a b.mp4", /whitespace or control characters/],
  ["tab", "https://media.example.com/a\t.mp4", /whitespace or control characters/],
  ["newline", "https://media.example.com/a\n.mp4", /whitespace or control characters/],
  ["DEL", "https://media.example.com/a\u007f.mp4", /whitespace or control characters/],
  ["C1 control", "https://media.example.com/a\u0085.mp4", /whitespace or control characters/],
  ["no-break space", "https://media.example.com/a\u00a0.mp4", /whitespace or control characters/],
  ["zero-width space", "https://media.example\u200b.com/a.mp4", /whitespace or control characters/],
  ["bidi override", "https://media.example.com/\u202egpm.exe", /whitespace or control characters/],
  ["markup", 'https://media.example.com/a.mp4"><script>alert(1)</script>', /percent-encode/],
  ["backslash", "https:\\\\media.example.com\\a.mp4", /percent-encode/],
  ["bad host", "https://[::1/a.mp4", /not a valid URL/],
  ["too long", longUrl(DIRECT_URL_MAX_LENGTH + 1), /characters/],
];

const source = (external_id: string, extra: Partial<PlaybackSource> = {}): PlaybackSource => ({
  provider: "direct",
  media_type: "movie",
  external_id,
  season: null,
  episode: null,
  ...extra,
});

describe("DirectProvider (unit)", () => {
  const direct = new DirectProvider();

  it("accepts absolute https and http URLs, up to 2,048 characters, and embeds the URL itself", () => {
    for (const url of [GOOD, "http://media.example.com/a.webm", "HTTPS://Media.Example.com:8443/a.m3u8", longUrl(DIRECT_URL_MAX_LENGTH)]) {
      expect(() => direct.validateSource(source(url))).not.toThrow();
      expect(direct.embedUrl(source(url))).toBe(url);
    }
    expect(longUrl(DIRECT_URL_MAX_LENGTH)).toHaveLength(DIRECT_URL_MAX_LENGTH);
  });

  it.each(BAD)("refuses %s with VALIDATION_FAILED", (_name, url, message) => {
    let thrown: unknown;
    try {
      direct.validateSource(source(url));
    } catch (err) {
      thrown = err;
    }
    expect(isAppError(thrown) && thrown.code).toBe("VALIDATION_FAILED");
    expect((thrown as Error).message).toMatch(/^video_id: /);
    expect((thrown as Error).message).toMatch(message);
  });

  it("is movies only, and has no catalogue search", async () => {
    expect(() => direct.validateSource(source(GOOD, { media_type: "tv", season: 1, episode: 1 }))).toThrow(
      "Direct media supports only the movie media type",
    );
    expect("search" in direct).toBe(false);
    const registry = new ProviderRegistry([new VidkingProvider(new TmdbClient({ baseUrl: "http://127.0.0.1:9", apiKey: "k" })), direct], {
      get: async () => null,
      set: async () => {},
    } as never);
    expect(registry.searchable()).toEqual(["vidking"]);
    await expect(registry.search("direct", "anything", 1)).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: "Provider direct has no catalogue search (searchable: vidking)",
    });
  });
});

describe("direct sources in a real app", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.stop());

  const setSource = (token: string, body: Record<string, unknown>) => t.api.post("/api/rooms/source/", body, { token });

  it.each(transports)("a direct source reaches the room as SOURCE_CHANGED with the URL as embed_url (%s)", async (_name, transport) => {
    const { host, room, viewerClient } = await party(t, { members: { viewer: guest("Watcher", { transport }) } });
    const res = await setSource(host.token, { room_id: room.room_id, provider: "direct", video_id: GOOD });
    const media = { video_provider: "direct", video_id: GOOD, media_type: "movie", season: null, episode: null, embed_url: GOOD };
    expect(res.status).toBe(200);
    // The queue's keys ride along: a fresh item id, and no title or duration for a bare URL.
    const capabilities = { precise_seek: true, rate_control: true, live: false };
    expect(res.body).toEqual({
      room_id: room.room_id,
      ...media,
      item_id: expect.any(String),
      title: null,
      duration: null,
      thumbnail: null,
      capabilities,
    });
    expect(await viewerClient.waitFor("SOURCE_CHANGED")).toMatchObject({ ...media, item_id: res.body.item_id, capabilities });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 0, version: 1 });
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
    expect(detail.body).toMatchObject({ ...media, capabilities });
  });

  it("http: is allowed; season and episode are dropped (a movie); tv is refused", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const url = "http://192.0.2.10:8080/home%20movies/a.webm";
    const res = await setSource(host.token, {
      room_id: room.room_id,
      provider: "direct",
      video_id: url,
      media_type: "movie",
      season: 2,
      episode: 3,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      video_provider: "direct",
      video_id: url,
      media_type: "movie",
      season: null,
      episode: null,
      embed_url: url,
    });
    const tv = await setSource(host.token, {
      room_id: room.room_id,
      provider: "direct",
      video_id: url,
      media_type: "tv",
      season: 1,
      episode: 1,
    });
    expect(tv.status).toBe(400);
    expect(tv.body).toMatchObject({ code: "VALIDATION_FAILED", error: "Direct media supports only the movie media type" });
  });

  it("every bad URL class is refused with VALIDATION_FAILED and changes nothing", async () => {
    const { host, room, viewerClient } = await party(t, { members: { viewer: guest("Watcher", { transport: "ws" }) } });
    expect((await setSource(host.token, { room_id: room.room_id, provider: "direct", video_id: GOOD })).status).toBe(200);
    await viewerClient.waitFor("SOURCE_CHANGED");
    await viewerClient.waitFor("PLAYBACK_STATE");

    for (const [name, url, message] of BAD) {
      const res = await setSource(host.token, { room_id: room.room_id, provider: "direct", video_id: url });
      expect(res.status, name).toBe(400);
      expect(res.body.code, name).toBe("VALIDATION_FAILED");
      // The route's own bounds (255 characters) answer first for an over-long URL.
      if (name !== "too long") expect(res.body.error, name).toMatch(message);
    }

    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
    expect(detail.body).toMatchObject({ video_provider: "direct", video_id: GOOD, embed_url: GOOD, media_type: "movie" });
    const { events } = (await t.api.get(`/api/rooms/${room.code}/events/?limit=100`, { token: host.token })).body;
    expect(events.filter((e: { event: string }) => e.event === "room.source_changed")).toHaveLength(1);
    await viewerClient.expectNone(200, "SOURCE_CHANGED");
    await viewerClient.expectNone(0, "PLAYBACK_STATE");
  });

  it("the catalogue search refuses the direct provider and names the providers that search", async () => {
    const res = await t.api.get("/api/rooms/search/?q=anything&provider=direct");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: "Provider direct has no catalogue search (searchable: vidking)",
      code: "VALIDATION_FAILED",
      details: { provider: "direct", searchable: ["vidking"] },
    });
  });
});
