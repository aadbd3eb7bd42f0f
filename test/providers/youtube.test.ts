/**
 * The `youtube` provider: ids and URLs normalized to the id, bad ids refused, metadata from an
 * oEmbed stub on loopback (cached, best-effort), and capabilities on SOURCE_CHANGED, the room
 * detail and the source answer over both transports. No network: the stub is the endpoint.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isAppError } from "../../src/errors.js";
import { METADATA_FAILURE_TTL_SECONDS, ProviderRegistry } from "../../src/providers/registry.js";
import type { PlaybackSource } from "../../src/providers/types.js";
import { YoutubeProvider, youtubeVideoId } from "../../src/providers/youtube.js";
import { MemoryCache } from "../../src/state/cache.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";
import { type OembedStub, startOembedStub } from "../helpers/oembed-stub.js";
import { guest, party } from "../helpers/party.js";

const ID = "dQw4w9WgXcQ";
const CAPABILITIES = { precise_seek: false, rate_control: true, live: false };
/** A distinct valid id per use, so one test's cached metadata is not another's. */
let serial = 0;
const freshId = () => `yt_${String(++serial).padStart(8, "0")}`;
/** The stub names each video after its id (the `url` parameter is the watch URL). */
const titled = (request: URL) => ({ type: "video", title: `Video ${new URL(request.searchParams.get("url")!).searchParams.get("v")}` });

const source = (external_id: string, extra: Partial<PlaybackSource> = {}): PlaybackSource => ({
  provider: "youtube",
  media_type: "movie",
  external_id,
  season: null,
  episode: null,
  ...extra,
});

function refusal(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

let stub: OembedStub;
beforeAll(async () => {
  stub = await startOembedStub();
});
afterAll(() => stub?.close());
afterEach(() => stub.respond(200, titled));

describe("YoutubeProvider (unit)", () => {
  const youtube = new YoutubeProvider({ metadataUrl: "http://127.0.0.1:9/oembed", timeoutMs: 1000 });

  it.each([
    [ID, ID],
    [` ${ID} `, ID],
    ["a-b_c-d_e-f", "a-b_c-d_e-f"],
    [`https://www.youtube.com/watch?v=${ID}`, ID],
    [`https://youtube.com/watch?feature=share&v=${ID}&t=42s`, ID],
    [`http://m.youtube.com/watch?v=${ID}`, ID],
    [`https://youtu.be/${ID}?si=abc`, ID],
    [`https://www.youtube.com/embed/${ID}`, ID],
    [`https://www.youtube.com/shorts/${ID}`, ID],
    [`https://www.youtube-nocookie.com/embed/${ID}`, ID],
  ])("%s is the video %s", (input, id) => {
    expect(youtubeVideoId(input)).toBe(id);
    expect(youtube.validateSource(source(input)).external_id).toBe(id);
  });

  it.each([
    ["too short", "dQw4w9WgXc"],
    ["too long", "dQw4w9WgXcQQ"],
    ["a character outside the alphabet", "dQw4w9WgXc!"],
    ["a slash", "dQw4w9/gXcQ"],
    ["another site", `https://vimeo.com/watch?v=${ID}`],
    ["a look-alike host", `https://youtube.com.evil.example/watch?v=${ID}`],
    ["watch without v", "https://www.youtube.com/watch?list=PL123"],
    ["a bad id in a URL", "https://youtu.be/short"],
    ["javascript:", `javascript:alert('${ID}')`],
    ["empty", ""],
  ])("refuses %s with VALIDATION_FAILED", (_name, input) => {
    expect(youtubeVideoId(input)).toBeUndefined();
    const thrown = refusal(() => youtube.validateSource(source(input)));
    expect(isAppError(thrown) && thrown.code).toBe("VALIDATION_FAILED");
    expect((thrown as Error).message).toMatch(/^video_id: a YouTube video id is 11 letters/);
  });

  it("is movies only; embeds and names the thumbnail from the id; declares rate control without precise seeks", () => {
    const thrown = refusal(() => youtube.validateSource(source(ID, { media_type: "tv", season: 1, episode: 1 })));
    expect(isAppError(thrown) && thrown.code).toBe("VALIDATION_FAILED");
    expect(youtube.embedUrl(source(ID))).toBe(`https://www.youtube.com/embed/${ID}`);
    expect(youtube.thumbnail(source(ID))).toBe(`https://i.ytimg.com/vi/${ID}/hqdefault.jpg`);
    expect(youtube.capabilities).toEqual(CAPABILITIES);
  });
});

describe("YouTube metadata through the registry (stub on loopback)", () => {
  const registryFor = (timeoutMs = 2000) => {
    const failures: unknown[] = [];
    const registry = new ProviderRegistry([new YoutubeProvider({ metadataUrl: stub.url, timeoutMs })], new MemoryCache(), (err) =>
      failures.push(err),
    );
    return { registry, failures };
  };

  it("asks the endpoint for the watch URL as JSON, once: the second look-up is the cache's", async () => {
    const { registry } = registryFor();
    const id = freshId();
    stub.respond(200, { type: "video", title: "  Night\u202e of the Living  ", duration: 212.5, thumbnail_url: "https://x/y.jpg" });
    const before = stub.requests.length;
    expect(await registry.metadata(source(id))).toEqual({ title: "Night of the Living", duration: 212.5 });
    expect(stub.requests.length).toBe(before + 1);
    const asked = stub.requests.at(-1)!;
    expect(asked.pathname).toBe("/oembed");
    expect(asked.searchParams.get("url")).toBe(`https://www.youtube.com/watch?v=${id}`);
    expect(asked.searchParams.get("format")).toBe("json");
    expect(await registry.metadata(source(id))).toEqual({ title: "Night of the Living", duration: 212.5 });
    expect(stub.requests.length).toBe(before + 1);
  });

  it("a failing, malformed or silent endpoint gives null (told to the failure hook), and the failure is cached briefly", async () => {
    expect(METADATA_FAILURE_TTL_SECONDS).toBeGreaterThan(0);
    const { registry, failures } = registryFor(300);
    stub.respond(500, { error: "down" });
    const id = freshId();
    const before = stub.requests.length;
    expect(await registry.metadata(source(id))).toBeNull();
    expect(await registry.metadata(source(id))).toBeNull();
    expect(stub.requests.length).toBe(before + 1);
    stub.respond(200, ["not", "an", "object"]);
    expect(await registry.metadata(source(freshId()))).toBeNull();
    stub.respond(200, { title: 42, duration: -1 });
    expect(await registry.metadata(source(freshId()))).toEqual({ title: null, duration: null });
    stub.hang();
    const started = Date.now();
    expect(await registry.metadata(source(freshId()))).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failures.map((e) => isAppError(e) && e.code)).toEqual(["PROVIDER_ERROR", "PROVIDER_ERROR", "PROVIDER_ERROR"]);
  });
});

describe("youtube sources in a real app", () => {
  let t: TestApp;
  beforeAll(async () => {
    stub.respond(200, titled);
    t = await startApp({ YOUTUBE_METADATA_URL: stub.url, YOUTUBE_METADATA_TIMEOUT_MS: "500" });
  });
  afterAll(() => t?.stop());

  const setSource = (token: string, body: Record<string, unknown>) => t.api.post("/api/rooms/source/", body, { token });

  it.each(transports)(
    "a YouTube URL is stored as its id; SOURCE_CHANGED, the answer and the detail carry title, thumbnail and capabilities (%s)",
    async (_name, transport) => {
      const { host, room, viewerClient } = await party(t, { members: { viewer: guest("Watcher", { transport }) } });
      const id = freshId();
      const before = stub.requests.length;
      const res = await setSource(host.token, { room_id: room.room_id, provider: "youtube", video_id: `https://youtu.be/${id}` });
      const media = {
        video_provider: "youtube",
        video_id: id,
        media_type: "movie",
        season: null,
        episode: null,
        embed_url: `https://www.youtube.com/embed/${id}`,
        title: `Video ${id}`,
        duration: null,
        thumbnail: `https://i.ytimg.com/vi/${id}/hqdefault.jpg`,
        capabilities: CAPABILITIES,
      };
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ room_id: room.room_id, ...media, item_id: expect.any(String) });
      expect(await viewerClient.waitFor("SOURCE_CHANGED")).toEqual({ type: "SOURCE_CHANGED", ...media, item_id: res.body.item_id });
      const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
      expect(detail.body).toMatchObject(media);
      expect(stub.requests.length).toBe(before + 1);

      // The same video again (by its id this time): the cache answers, the endpoint is not asked.
      const again = await setSource(host.token, { room_id: room.room_id, provider: "youtube", video_id: id });
      expect(again.body).toMatchObject({ video_id: id, title: `Video ${id}` });
      expect(stub.requests.length).toBe(before + 1);
    },
  );

  it("a metadata failure does not fail the source: it is set, with title null", async () => {
    const { host, room, viewerClient } = await party(t, { members: { viewer: guest("Watcher", { transport: "ws" }) } });
    const id = freshId();
    stub.respond(503, { error: "unavailable" });
    const res = await setSource(host.token, { room_id: room.room_id, provider: "youtube", video_id: id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ video_id: id, title: null, duration: null, capabilities: CAPABILITIES });
    expect(await viewerClient.waitFor("SOURCE_CHANGED")).toMatchObject({ video_id: id, title: null, capabilities: CAPABILITIES });
  });

  it("a bad id is refused with VALIDATION_FAILED and asks no endpoint", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const before = stub.requests.length;
    const res = await setSource(host.token, {
      room_id: room.room_id,
      provider: "youtube",
      video_id: "https://www.youtube.com/watch?v=nope",
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.error).toMatch(/^video_id: a YouTube video id is 11 letters/);
    expect(stub.requests.length).toBe(before);
  });

  it("a queued YouTube item gets its title from the metadata when the adder gave none, and keeps a given one", async () => {
    const { hostClient } = await party(t, { transport: "ws" });
    const [plain, named] = [freshId(), freshId()];
    hostClient.send({ type: "QUEUE_ADD", provider: "youtube", video_id: `https://www.youtube.com/watch?v=${plain}` });
    const first = await hostClient.waitFor("QUEUE_UPDATED");
    expect(first.items).toEqual([
      expect.objectContaining({
        provider: "youtube",
        video_id: plain,
        title: `Video ${plain}`,
        embed_url: `https://www.youtube.com/embed/${plain}`,
      }),
    ]);
    hostClient.send({ type: "QUEUE_ADD", provider: "youtube", video_id: named, title: "My pick" });
    const second = await hostClient.waitFor("QUEUE_UPDATED");
    expect((second.items as { title: string }[]).map((i) => i.title)).toEqual([`Video ${plain}`, "My pick"]);
  });
});
