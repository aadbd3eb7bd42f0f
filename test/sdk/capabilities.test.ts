/**
 * The SDK picks its correction mode from the source's capabilities: rate nudges only when both
 * the player adapter (`canSetRate`) and the source (`rate_control`) allow them, seek-only
 * correction otherwise. On simulated time (the choice and what it does to a drifting player),
 * and against the real server (SOURCE_CHANGED sets `room.capabilities` and the mode).
 */
import type { MediaCapabilities } from "@streamit/protocol";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ServerClock } from "../../packages/client/src/clock.js";
import { RoomClock } from "../../packages/client/src/room-clock.js";
import { SyncController } from "../../packages/client/src/sync-controller.js";
import type { Clocks } from "../../packages/client/src/timers.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { guest, party } from "../helpers/party.js";
import { FakeTime, WALL_EPOCH } from "./helpers/fake-time.js";
import { open, recorder } from "./helpers/rooms.js";
import { SimPlayer } from "./helpers/sim-player.js";

const caps = (rate_control: boolean): MediaCapabilities => ({ precise_seek: rate_control, rate_control, live: false });

/** A synced viewer playing from 100 s, its player (rate control or not) and its controller. */
async function playingViewer(canSetRate: boolean, capabilities: MediaCapabilities | null | undefined) {
  const time = new FakeTime();
  const clocks: Clocks = { mono: time.mono, wall: time.wall };
  const serverNow = () => time.mono() + WALL_EPOCH;
  const ping = () => new Promise<number>((resolve) => time.setTimeout(() => resolve(serverNow()), 10));
  const clock = new ServerClock({ ping, clocks, scheduler: time });
  const room = new RoomClock();
  const player = new SimPlayer(time, { canSetRate, paused: true, position: 0, seekLatencyMs: 100 });
  const controller = new SyncController({ player, clock, room, clocks, scheduler: time });
  controller.setCapabilities(capabilities);
  room.apply({ is_playing: true, time: 100, server_time: serverNow(), rate: 1, version: 1 }, serverNow());
  clock.start();
  controller.start();
  await time.until(() => clock.synced && !player.isPaused(), 5000);
  // Settled on the room's frame; then the player falls behind by 0.4 s (under the 1 s seek threshold).
  await time.advance(10_000);
  const before = { seeks: player.calls.seeks.length, rates: player.calls.rates.length };
  player.jump(-0.4);
  await time.advance(5_000);
  const drift = () => player.currentTime() - (room.at(serverNow())?.position ?? Number.NaN);
  const stop = () => {
    controller.stop();
    clock.stop();
  };
  return {
    controller,
    seeksAfter: player.calls.seeks.length - before.seeks,
    ratesAfter: player.calls.rates.length - before.rates,
    drift,
    stop,
  };
}

describe("correction mode from the source's capabilities", () => {
  it.each([
    ["a rate-capable player on a source with rate control", true, caps(true), "rate"],
    ["a rate-capable player on a source without (an iframe embed)", true, caps(false), "seek"],
    ["a player without rate control on a source with it", false, caps(true), "seek"],
    ["a rate-capable player, capabilities unknown (the player decides)", true, null, "rate"],
    ["a player without rate control, capabilities unknown", false, undefined, "seek"],
  ] as const)("%s: %s", async (_name, canSetRate, capabilities, mode) => {
    const v = await playingViewer(canSetRate, capabilities);
    expect(v.controller.correctionMode).toBe(mode);
    expect(v.controller.stats.correctionMode).toBe(mode);
    if (mode === "rate") {
      // Caught up by nudging the rate: no seek.
      expect(v.ratesAfter).toBeGreaterThan(0);
      expect(v.seeksAfter).toBe(0);
    } else {
      // Caught up by a seek, the rate never touched (a player without rate control would throw).
      expect(v.seeksAfter).toBeGreaterThan(0);
      expect(v.ratesAfter).toBe(0);
    }
    expect(Math.abs(v.drift())).toBeLessThan(0.15);
    v.stop();
  });

  it("a source change moves the mode both ways", () => {
    const time = new FakeTime();
    const clocks: Clocks = { mono: time.mono, wall: time.wall };
    const clock = new ServerClock({ ping: async () => time.wall(), clocks, scheduler: time });
    const controller = new SyncController({ player: new SimPlayer(time), clock, room: new RoomClock(), clocks, scheduler: time });
    expect(controller.correctionMode).toBe("rate");
    controller.setCapabilities(caps(false));
    expect(controller.correctionMode).toBe("seek");
    controller.setCapabilities(caps(true));
    expect(controller.correctionMode).toBe("rate");
  });
});

describe("SDK room capabilities against the server", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.stop());

  it("SOURCE_CHANGED sets room.source and room.capabilities, and the sync's correction mode follows", async () => {
    const p = await party(t, { members: { viewer: guest("Pal") } });
    const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token, player: new SimPlayer(new FakeTime()) });
    const seen = recorder(viewer);
    await viewer.ready;
    expect(viewer.capabilities).toBeUndefined();
    expect(viewer.sync?.correctionMode).toBe("rate");

    const setSource = (body: Record<string, unknown>) =>
      t.api.post("/api/rooms/source/", { room_id: p.room.room_id, ...body }, { token: p.host.token });
    expect((await setSource({ provider: "vidking", video_id: "1078605" })).status).toBe(200);
    await seen.next("SOURCE_CHANGED", (m) => m.video_provider === "vidking");
    expect(viewer.capabilities).toEqual({ precise_seek: false, rate_control: false, live: false });
    expect(viewer.source).toMatchObject({ video_provider: "vidking", embed_url: "https://www.vidking.net/embed/movie/1078605" });
    expect(viewer.sync?.correctionMode).toBe("seek");

    expect((await setSource({ provider: "direct", video_id: "https://media.example/a.webm" })).status).toBe(200);
    await seen.next("SOURCE_CHANGED", (m) => m.video_provider === "direct");
    expect(viewer.capabilities).toEqual({ precise_seek: true, rate_control: true, live: false });
    await vi.waitFor(() => expect(viewer.stats.correctionMode).toBe("rate"));

    // The room detail's media does the same before any SOURCE_CHANGED (the join snapshot has none).
    const detail = await t.api.get(`/api/rooms/${p.room.code}/detail/`, { token: p.viewer.token });
    viewer.useSource({ ...detail.body, capabilities: { precise_seek: false, rate_control: false, live: false } });
    expect(viewer.sync?.correctionMode).toBe("seek");
  });
});
