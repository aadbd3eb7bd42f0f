/**
 * The demo page at /demo/ (packages/demo, served by src/http/demo.ts): how it is served, and two
 * headless Chromium pages watching together through it: a host who signs in, creates a room,
 * sets a media URL and drives playback, and a guest who joins by code, against a real WebM made
 * with ffmpeg and served from another origin with byte ranges.
 *
 * The room's position is judged independently of the pages: a Socket.IO observer holding the
 * host's token (so the roster does not change) records every PLAYBACK_STATE, and each sample of
 * a page's <video> (taken with the page's Date.now(), the same clock as this process) is compared
 * with where that state puts the room at that instant.
 *
 * Page code runs through page.evaluate/waitForFunction with functions: the page's CSP refuses
 * eval, which Playwright's string predicates need. Functions touch the DOM through `globalThis`,
 * since the root tsconfig has no DOM library.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import Fastify from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_NOT_BUILT, demoDistDir, installDemo } from "../../src/http/demo.js";
import { originAllowed } from "../../src/realtime/origins.js";
import { ensureTestVideo } from "../bench/sync/media.js";
import { type PageServer, startPageServer } from "../bench/sync/page-server.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { type Message, sioClient, type TestClient } from "../helpers/clients.js";

const CHROMIUM = "/usr/bin/chromium";
const hasFfmpeg = spawnSync("ffmpeg", ["-version"], { stdio: "ignore" }).status === 0;
/** How far (s) a page's video may be from the room's position once it has caught up. */
const TOLERANCE = 0.3;

describe("the demo page is served", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.stop());

  it.runIf(existsSync(path.join(demoDistDir() ?? "", "index.html")))(
    "at /demo/, with a CSP for its own files, any http(s) media and its own origin's socket",
    async () => {
      const page = await fetch(`${t.baseUrl}/demo/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await page.text()).toContain("<title>StreamIt demo</title>");
      const csp = page.headers.get("content-security-policy") ?? "";
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "media-src http: https:",
      ]) {
        expect(csp).toContain(directive);
      }
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("upgrade-insecure-requests");

      const redirect = await fetch(`${t.baseUrl}/demo`, { redirect: "manual" });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get("location")).toBe("/demo/");
      const script = await fetch(`${t.baseUrl}/demo/main.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get("content-type")).toMatch(/javascript/);
      const missing = await fetch(`${t.baseUrl}/demo/missing.js`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: "Not found", code: "NOT_FOUND" });

      // The rest of the server keeps the API's policy.
      const api = await fetch(`${t.baseUrl}/api/health/`);
      expect(api.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(api.headers.get("content-security-policy")).not.toContain("media-src");
    },
  );

  it("admits the server's own origin on the room sockets, besides CORS_ORIGINS", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const own = sioClient(t.baseUrl, room.code, host.token, { origin: t.baseUrl });
    await own.opened;
    const foreign = sioClient(t.baseUrl, room.code, host.token, { origin: "http://elsewhere.example" });
    expect((await foreign.closed).code).not.toBe(1000);
    await expect(foreign.opened).rejects.toThrow();
    // Same origin: the page's host is the host the request is addressed to (default ports implied).
    expect(originAllowed("http://watch.example", [], "watch.example")).toBe(true);
    expect(originAllowed("https://watch.example:8443", [], "WATCH.example:8443")).toBe(true);
    expect(originAllowed("http://evil.example", [], "watch.example")).toBe(false);
    expect(originAllowed("http://watch.example:9000", [], "watch.example")).toBe(false);
    expect(originAllowed("null", [], "watch.example")).toBe(false);
    expect(originAllowed("http://front.example", ["http://front.example"], "watch.example")).toBe(true);
  });

  it("is 404 with DEMO_ENABLED=false", async () => {
    const off = await startApp({ DEMO_ENABLED: "false" });
    try {
      for (const url of ["/demo/", "/demo/main.js"]) {
        const res = await fetch(off.baseUrl + url);
        expect(res.status).toBe(404);
        expect(((await res.json()) as { code: string }).code).toBe("NOT_FOUND");
      }
    } finally {
      await off.stop();
    }
  });

  it("answers 404 saying so when the page is not built", async () => {
    const http = Fastify();
    try {
      await installDemo(http, { root: path.join(t.config.DATA_DIR, "no-such-dist") });
      for (const url of ["/demo/", "/demo/main.js"]) {
        const res = await http.inject(url);
        expect(res.statusCode).toBe(404);
        expect(res.json()).toEqual({ error: DEMO_NOT_BUILT, code: "NOT_FOUND" });
      }
    } finally {
      await http.close();
    }
  });
});

type PlaybackState = { is_playing: boolean; time: number; server_time: number; rate: number; version: number };

/** The newest PLAYBACK_STATE the observer got (highest version). */
function latestState(received: Message[]): PlaybackState | undefined {
  let latest: PlaybackState | undefined;
  for (const m of received) if (m.type === "PLAYBACK_STATE" && (!latest || m.version > latest.version)) latest = m as any;
  return latest;
}

/** Where a state puts the room at `at` (epoch ms); a scheduled start holds `time` until it takes effect. */
function positionAt(state: PlaybackState, at: number): number {
  return state.is_playing ? state.time + (Math.max(0, at - state.server_time) / 1000) * state.rate : state.time;
}

/** The page's <video> now, stamped with the page's clock. */
function sample(page: Page) {
  return page.evaluate(() => {
    const video = (globalThis as any).document.querySelector("video");
    return {
      at: Date.now(),
      time: video.currentTime as number,
      paused: video.paused as boolean,
      rate: video.playbackRate as number,
      src: video.getAttribute("src") as string | null,
    };
  });
}

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? "";

/** Each page's video follows the room as `observer` sees it: its play state, and its position within TOLERANCE. */
async function following(observer: TestClient, ...pages: Page[]): Promise<void> {
  for (const page of pages) {
    await expect
      .poll(
        async () => {
          const s = await sample(page);
          const room = latestState(observer.received)!;
          const at = positionAt(room, s.at);
          const off = s.time - at;
          return s.paused === !room.is_playing && Math.abs(off) < TOLERANCE
            ? "following"
            : `video at ${s.time.toFixed(3)} s (${s.paused ? "paused" : "playing"}), room at ${at.toFixed(3)} s (${room.is_playing ? "playing" : "paused"}): off by ${off.toFixed(3)} s`;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe("following");
  }
}

describe.runIf(existsSync(CHROMIUM) && hasFfmpeg)("two browsers watch together on the demo page", () => {
  let t: TestApp;
  let media: PageServer;
  let browser: Browser;
  /** Page errors and CSP refusals seen by each page: none expected. */
  const problems = new Map<Page, string[]>();

  beforeAll(async () => {
    const dist = demoDistDir();
    if (!dist || !existsSync(path.join(dist, "index.html"))) throw new Error(`${DEMO_NOT_BUILT} (looked in ${dist})`);
    // The default CORS_ORIGINS: the pages' sockets present the server's own origin, admitted as such.
    t = await startApp();
    const file = await ensureTestVideo({ seconds: 60 });
    media = await startPageServer();
    // Two names for one file: a second source change is a different URL.
    media.routes.set("/first.webm", { type: "video/webm", file });
    media.routes.set("/second.webm", { type: "video/webm", file });
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking",
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await media?.close();
    await t?.stop();
  });

  /**
   * A page of the demo in a fresh context. `strictAutoplay`: play() is refused (NotAllowedError)
   * until the page's "Click to join playback" button is clicked, as a browser that wants a
   * gesture would (Chromium lets muted videos start by themselves, so this stands in for it).
   */
  async function openPage(options: { strictAutoplay?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext();
    if (options.strictAutoplay) {
      await context.addInitScript(() => {
        const g = globalThis as any;
        const play = g.HTMLMediaElement.prototype.play;
        let unlocked = false;
        g.document.addEventListener("click", (event: any) => (unlocked ||= event.target?.id === "join-playback"), true);
        g.HTMLMediaElement.prototype.play = function (this: unknown) {
          return unlocked ? play.call(this) : Promise.reject(new g.DOMException("play() needs a user gesture", "NotAllowedError"));
        };
      });
    }
    const page = await context.newPage();
    const seen: string[] = [];
    problems.set(page, seen);
    page.on("pageerror", (err) => seen.push(err.message));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) seen.push(m.text());
    });
    await page.goto(`${t.baseUrl}/demo/`);
    return page;
  }

  it("a host and a guest: rooms, media, playback, roster, chat and the sync panel", async () => {
    const host = await openPage();
    const guest = await openPage();

    // --- The host signs up (guests may not host) and creates a public room.
    await host.locator("#account-email").fill(`host-${Date.now()}@example.com`);
    await host.locator("#account-password").fill("correct horse battery");
    await host.locator("#account-name").fill("Alice");
    await host.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => text(host, "#whoami")).toBe("Signed in as Alice");
    await host.getByRole("button", { name: "Create room" }).click();
    await expect.poll(() => text(host, "#connection")).toBe("connected");
    const code = await text(host, "#room-code");
    expect(code).toMatch(/^[A-Z0-9]{6}$/);
    expect(await text(host, "#role")).toBe("you are the host");

    // The observer: the host's own token, a second connection of the same user.
    const token = await host.evaluate(
      () => JSON.parse((globalThis as any).sessionStorage.getItem("streamit-demo:session")).access_token as string,
    );
    const observer = sioClient(t.baseUrl, code, token);
    await observer.drainJoin();
    const state = () => latestState(observer.received);
    /** Waits for the observer to see a new state that matches, after `since` (a version). */
    const newState = async (since: number, matches: (s: PlaybackState) => boolean) => {
      await expect
        .poll(() => {
          const s = state();
          return s !== undefined && s.version > since && matches(s);
        })
        .toBe(true);
      return state()!;
    };

    // --- The host sets the media before the guest comes: the guest gets it from the room's detail.
    const first = `${media.origin}/first.webm`;
    await host.locator("#media-url").fill(first);
    await host.getByRole("button", { name: "Set media" }).click();
    await observer.waitFor("SOURCE_CHANGED");
    await expect.poll(async () => (await sample(host)).src).toBe(first);
    await expect.poll(() => text(host, "#media-note")).toBe(`Media: ${first}`);
    await expect.poll(() => text(host, "#media-caps")).toBe("precise seek · rate control · on demand");

    // --- The guest signs in, and is told what is wrong with a password room and an approval room.
    await guest.locator("#guest-name").fill("Bob");
    await guest.getByRole("button", { name: "Continue as guest" }).click();
    await expect.poll(() => text(guest, "#whoami")).toBe("Signed in as Bob (guest)");
    expect(await guest.getByRole("button", { name: "Create room" }).isDisabled()).toBe(true);

    const other = await t.api.register("Carol");
    const locked = await t.api.createRoom(other.token, { is_private: true, entry_mode: "PASSWORD" });
    await guest.locator("#join-code").fill(locked.code.toLowerCase());
    await guest.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => text(guest, "#notice")).toBe(`Room ${locked.code} needs a password: enter it and join again.`);
    await guest.locator("#join-password").fill("not the password");
    await guest.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => text(guest, "#notice")).toBe("Wrong password for this room.");
    await guest.locator("#join-code").fill("ZZZZZZ");
    await guest.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => text(guest, "#notice")).toBe("There is no room with the code ZZZZZZ.");

    const approval = await t.api.createRoom(other.token, { is_private: true, entry_mode: "APPROVAL" });
    const carol = sioClient(t.baseUrl, approval.code, other.token);
    await carol.drainJoin();
    await guest.locator("#join-code").fill(approval.code);
    await guest.getByRole("button", { name: "Join" }).click();
    // The waiting page names whose room it is (the reduced detail a pending user may read).
    await expect.poll(() => text(guest, "#notice")).toBe("You asked to join Carol's room: waiting for the host to let you in…");
    expect(await text(guest, "#connection")).toBe("waiting for the host");
    const asked = await carol.waitFor("JOIN_REQUESTED");
    expect(asked.display_name).toBe("Bob");
    const approved = await t.api.post("/api/rooms/approve/", { room_id: approval.room_id, user_id: asked.user_id }, { token: other.token });
    expect(approved.status).toBe(200);
    await expect.poll(() => text(guest, "#connection")).toBe("connected");
    expect(await guest.locator("#notice").isHidden()).toBe(true);
    await guest.getByRole("button", { name: "Leave" }).click();

    // --- The guest joins the host's room by its code.
    await guest.locator("#join-code").fill(code);
    await guest.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => text(guest, "#connection")).toBe("connected");
    expect(await text(guest, "#room-code")).toBe(code);
    expect(await guest.locator("#host-controls").isHidden()).toBe(true);
    await expect.poll(async () => (await sample(guest)).src).toBe(first);

    // The roster lists both, online, on both pages; the host saw the guest come.
    for (const page of [host, guest]) {
      await expect
        .poll(async () => (await page.locator("#roster li").allTextContents()).map((s) => s.replace(/\s+/g, " ").trim()).sort())
        .toEqual(page === host ? ["Alice you host", "Bob"] : ["Alice host", "Bob you"]);
    }
    await expect.poll(() => host.locator("#chat li.system").allTextContents()).toContain("Bob joined.");

    // --- A source change reaches the guest as SOURCE_CHANGED.
    const second = `${media.origin}/second.webm`;
    const before = state()!.version;
    await host.locator("#media-url").fill(second);
    await host.getByRole("button", { name: "Set media" }).click();
    await newState(before, (s) => !s.is_playing && s.time === 0);
    for (const page of [host, guest]) await expect.poll(async () => (await sample(page)).src).toBe(second);

    // --- Playback: play, pause, seek while paused, seek while playing, rate.
    let version = state()!.version;
    await host.getByRole("button", { name: "Play", exact: true }).click();
    version = (await newState(version, (s) => s.is_playing)).version;
    await following(observer, guest, host);

    await host.getByRole("button", { name: "Pause", exact: true }).click();
    version = (await newState(version, (s) => !s.is_playing)).version;
    await following(observer, guest, host);

    await host.locator("#seek-time").fill("30");
    await host.getByRole("button", { name: "Seek", exact: true }).click();
    version = (await newState(version, (s) => !s.is_playing && s.time === 30)).version;
    await following(observer, guest, host);

    await host.getByRole("button", { name: "Play", exact: true }).click();
    version = (await newState(version, (s) => s.is_playing)).version;
    await following(observer, guest, host);
    await host.locator("#seek-time").fill("12");
    await host.getByRole("button", { name: "Seek", exact: true }).click();
    version = (await newState(version, (s) => s.is_playing && Math.abs(s.time - 12) < 0.001)).version;
    await following(observer, guest, host);

    await host.locator("#rate").selectOption("1.5");
    const faster = await newState(version, (s) => s.is_playing && s.rate === 1.5);
    version = faster.version;
    // The players take the room's rate (within the SDK's ±10% nudges), and are still with the
    // room once it has run on at that rate for a while.
    for (const page of [guest, host]) {
      await expect.poll(async () => Math.abs((await sample(page)).rate / 1.5 - 1)).toBeLessThanOrEqual(0.1);
    }
    await expect.poll(() => positionAt(faster, Date.now()) - faster.time, { timeout: 10_000 }).toBeGreaterThan(3);
    await following(observer, guest, host);
    await expect.poll(async () => guest.locator("#rate").inputValue()).toBe("1.5");
    expect(await host.locator("#control-error").isHidden()).toBe(true);

    // --- Chat, both ways; a refused message shows the ack's error.
    await guest.locator("#chat-input").fill("hello from Bob");
    await guest.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => host.locator("#chat li:not(.system)").allTextContents()).toContain("Bob hello from Bob");
    await host.locator("#chat-input").fill("welcome, Bob");
    await host.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => guest.locator("#chat li:not(.system)").allTextContents()).toContain("Alice welcome, Bob");
    await expect.poll(() => guest.locator("#chat-input").inputValue()).toBe("");
    await guest.locator("#chat-input").fill("hello from Bob");
    await guest.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => text(guest, "#chat-error")).toMatch(/^Not sent: .+ \(DUPLICATE_MESSAGE\)\.$/);

    // --- A reaction floats up on everyone's video, with who sent it.
    await guest.locator('#reactions button[data-emoji="🎉"]').click();
    await expect.poll(() => host.locator("#reaction-overlay span").allTextContents()).toContain("🎉 Bob");
    expect(await guest.locator("#reaction-error").isHidden()).toBe(true);

    // --- The sync panel shows the SDK's numbers.
    await expect.poll(() => text(guest, '[data-stat="offset"]')).toMatch(/^-?\d+\.\d ms ± \d+\.\d ms$/);
    expect(await text(guest, '[data-stat="rtt"]')).toMatch(/^\d+\.\d ms$/);
    expect(await text(guest, '[data-stat="drift"]')).toMatch(/^[+−]\d+ ms \(\w+\)$/);
    expect(await text(guest, '[data-stat="corrections"]')).toMatch(/^\d+ seeks, \d+ rate changes$/);
    expect(await text(guest, '[data-stat="room"]')).toMatch(/^\d+\.\d\d s, playing at 1\.5× \(version \d+\)$/);

    expect(problems.get(host)).toEqual([]);
    expect(problems.get(guest)).toEqual([]);
    await host.context().close();
    await guest.context().close();
  }, 180_000);

  it("the watch party: an invite link into a password room, the queue, vote skip, keeping the room, a party countdown", async () => {
    const host = await openPage();
    const guest = await openPage();
    await host.locator("#account-email").fill(`party-${Date.now()}@example.com`);
    await host.locator("#account-password").fill("correct horse battery");
    await host.locator("#account-name").fill("Dana");
    await host.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => text(host, "#whoami")).toBe("Signed in as Dana");
    await host.locator("#entry-mode").selectOption("password");
    await host.getByRole("button", { name: "Create room" }).click();
    await expect.poll(() => text(host, "#connection")).toBe("connected");
    const code = await text(host, "#room-code");

    // --- An invite link joins the password room without the password.
    await host.getByRole("button", { name: "Create invite link" }).click();
    await expect.poll(() => host.locator("#invite-link").inputValue()).toMatch(new RegExp(`/demo/#${code}\\?invite=.+`));
    const link = await host.locator("#invite-link").inputValue();
    await guest.goto(link);
    await guest.locator("#guest-name").fill("Eve");
    await guest.getByRole("button", { name: "Continue as guest" }).click();
    // The lobby fills the code in from the link once the sign-in is through.
    await expect.poll(() => guest.locator("#join-code").inputValue()).toBe(code);
    await guest.getByRole("button", { name: "Join" }).click();
    await expect.poll(() => text(guest, "#connection")).toBe("connected");
    expect(await guest.locator("#queue-controls").isHidden()).toBe(true);

    // --- The queue: the host adds two items, the guest sees them; Play next plays the first.
    for (const [name, title] of [
      ["first.webm", "Opening act"],
      ["second.webm", "Main feature"],
    ]) {
      await host.locator("#queue-url").fill(`${media.origin}/${name}`);
      await host.locator("#queue-title").fill(title!);
      await host.getByRole("button", { name: "Add", exact: true }).click();
    }
    await expect.poll(() => guest.locator("#queue li").allTextContents()).toEqual(["Opening act", "Main feature"]);
    await host.getByRole("button", { name: "Play next" }).click();
    await expect.poll(async () => (await sample(guest)).src).toBe(`${media.origin}/first.webm`);
    await expect.poll(() => guest.locator("#queue li").allTextContents()).toEqual(["Main feature"]);

    // --- Vote skip: two online, half is one vote: the guest's vote plays the next item.
    await guest.getByRole("button", { name: /^Vote to skip/ }).click();
    await expect.poll(async () => (await sample(host)).src).toBe(`${media.origin}/second.webm`);
    await expect.poll(() => host.locator("#queue li").count()).toBe(0);
    expect(await guest.locator("#queue-error").isHidden()).toBe(true);

    // --- Keeping the room, and a party an hour from now: the guest sees the countdown.
    await host.locator("#keep-room").check();
    await expect.poll(() => guest.locator("#chat li.system").allTextContents()).toContain("The host keeps this room.");
    const inAnHour = new Date(Date.now() + 3_600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await host.locator("#party-time").fill(inAnHour);
    await host.getByRole("button", { name: "Schedule" }).click();
    await expect.poll(() => text(guest, "#party-note")).toMatch(/^Party starts in (59:\d\d|1:00:00)$/);
    expect(await host.locator("#control-error").isHidden()).toBe(true);

    expect(problems.get(host)).toEqual([]);
    expect(problems.get(guest)).toEqual([]);
    await host.context().close();
    await guest.context().close();
  }, 120_000);

  it("offers “Click to join playback” when the browser refuses to start the video, and follows after the click", async () => {
    const owner = await t.api.register("Dana");
    const room = await t.api.createRoom(owner.token);
    const source = { room_id: room.room_id, provider: "direct", video_id: `${media.origin}/first.webm`, media_type: "movie" };
    expect((await t.api.post("/api/rooms/source/", source, { token: owner.token })).status).toBe(200);
    const hostSocket = sioClient(t.baseUrl, room.code, owner.token);
    await hostSocket.drainJoin();
    expect(await hostSocket.emitAck("PLAY", { time: 5 })).toMatchObject({ ok: true });

    const page = await openPage({ strictAutoplay: true });
    await page.locator("#guest-name").fill("Eve");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.locator("#join-code").fill(room.code);
    await page.getByRole("button", { name: "Join" }).click();
    const button = page.getByRole("button", { name: "Click to join playback" });
    await button.waitFor({ state: "visible" });
    expect((await sample(page)).paused).toBe(true);
    await button.click();
    await button.waitFor({ state: "hidden" });
    await following(hostSocket, page);
    expect(problems.get(page)).toEqual([]);
    await page.context().close();
  }, 60_000);
});
