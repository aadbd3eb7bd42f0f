/**
 * Lock-step playback end to end on simulated time: server clock + room clock + correction
 * ladder driving simulated players. Viewers whose page clocks are seconds apart and whose links
 * differ end up on the same frame at the same moment; a scheduled start starts them together;
 * pause lands everyone on the same position; telemetry goes out on its cadence.
 */
import { describe, expect, it } from "vitest";
import { ServerClock } from "../../packages/client/src/clock.js";
import { type PlaybackState, RoomClock } from "../../packages/client/src/room-clock.js";
import { SyncController, type SyncReport } from "../../packages/client/src/sync-controller.js";
import type { Clocks } from "../../packages/client/src/timers.js";
import { FakeTime, WALL_EPOCH } from "./helpers/fake-time.js";
import { SimPlayer, type SimPlayerOptions } from "./helpers/sim-player.js";

/** The server's clock on the shared simulated timeline. */
const SERVER_EPOCH = WALL_EPOCH + 500;
const serverNow = (time: FakeTime) => time.mono() + SERVER_EPOCH;

interface ViewerSpec {
  /** How far the viewer's page clock is off (ms). */
  skew: number;
  /** One-way delays to the server (ms). */
  up: number;
  down: number;
  player?: SimPlayerOptions;
}

/** One viewer: its own page clock, link, server-clock estimate, room clock, player and controller. */
function viewer(time: FakeTime, spec: ViewerSpec) {
  const clocks: Clocks = { mono: time.mono, wall: () => time.wall() + spec.skew };
  const ping = () =>
    new Promise<number>((resolve) => {
      time.setTimeout(() => {
        const ts = serverNow(time);
        time.setTimeout(() => resolve(ts), spec.down);
      }, spec.up);
    });
  const clock = new ServerClock({ ping, clocks, scheduler: time });
  const room = new RoomClock();
  const player = new SimPlayer(time, { paused: true, position: 0, seekLatencyMs: 350, ...spec.player });
  const reports: SyncReport[] = [];
  const controller = new SyncController({
    player,
    clock,
    room,
    clocks,
    scheduler: time,
    report: async (r) => {
      reports.push(r);
      return { drift: 0, corrected: false };
    },
  });
  /** A state broadcast by the server reaches this viewer after its downlink delay. */
  const deliver = (state: PlaybackState) => time.setTimeout(() => room.apply(state, clock.serverNow()), spec.down);
  const start = () => {
    clock.start();
    controller.start();
  };
  const stop = () => {
    clock.stop();
    controller.stop();
  };
  /** Where the room intends this viewer to be now, by the true server clock. */
  const error = () => {
    const intended = room.at(serverNow(time));
    return intended ? player.currentTime() - intended.position : Number.NaN;
  };
  return { clock, room, player, controller, reports, deliver, start, stop, error };
}

const playing = (time: FakeTime, at: number, version = 1, extra: Partial<PlaybackState> = {}): PlaybackState => ({
  is_playing: true,
  time: at,
  server_time: serverNow(time),
  rate: 1,
  version,
  ...extra,
});

describe("sync controller", () => {
  it("brings a viewer who joins mid-film to the room's frame: seek, play, converge", async () => {
    const time = new FakeTime();
    const v = viewer(time, { skew: 4_000, up: 30, down: 50 });
    v.deliver(playing(time, 600));
    v.start();
    await time.until(() => v.clock.synced && !v.player.isPaused(), 5000);
    await time.until(() => Math.abs(v.error()) < 0.04, 6000, 100);
    expect(v.player.calls.seeks.length).toBeLessThanOrEqual(2);
    // And it stays there.
    const { seeks } = v.controller.stats;
    await time.advance(30_000);
    // Within the dead band by its own clock estimate, whose error (an asymmetric link) adds to it.
    expect(Math.abs(v.error())).toBeLessThan(0.04 + v.clock.errorBound / 1000);
    expect(v.controller.stats.seeks).toBe(seeks);
    v.stop();
  });

  it("keeps viewers with clocks seconds apart on the same frame at the same moment", async () => {
    const time = new FakeTime();
    const viewers = [
      viewer(time, { skew: 3_000, up: 20, down: 20 }),
      viewer(time, { skew: -2_500, up: 80, down: 40, player: { seekLatencyMs: 600 } }),
      viewer(time, { skew: 0, up: 30, down: 60, player: { canSetRate: false, seekLatencyMs: 200 } }),
    ];
    const state = playing(time, 1200);
    for (const v of viewers) {
      v.deliver(state);
      v.start();
    }
    await time.advance(15_000);
    // Each within its tolerance (40 ms nudging, 100 ms seeking only) plus its clock's error bound
    // (an asymmetric link biases the offset by up to half the RTT): a few frames at most.
    for (const v of viewers) {
      const tolerance = v.player.canSetRate ? 0.04 : 0.1;
      expect(Math.abs(v.error())).toBeLessThanOrEqual(tolerance + v.clock.errorBound / 1000);
    }
    const positions = viewers.map((v) => v.player.currentTime());
    expect(Math.max(...positions) - Math.min(...positions)).toBeLessThan(0.15);
    for (const v of viewers) v.stop();
  });

  it("starts everyone together at a scheduled effective_at", async () => {
    const time = new FakeTime();
    const a = viewer(time, { skew: 1_000, up: 10, down: 10, player: { paused: true, position: 30 } });
    const b = viewer(time, { skew: -1_000, up: 60, down: 150, player: { paused: true, position: 30 } });
    const paused = { ...playing(time, 30), is_playing: false };
    for (const v of [a, b]) {
      v.deliver(paused);
      v.start();
    }
    await time.advance(3000);
    const startAt = serverNow(time) + 2000;
    const scheduled = playing(time, 30, 2, { effective_at: startAt });
    a.deliver(scheduled);
    b.deliver(scheduled);
    await time.advance(1500);
    expect([a.player.isPaused(), b.player.isPaused()]).toEqual([true, true]);
    await time.until(() => serverNow(time) >= startAt + 1000, 5000);
    expect([a.player.isPaused(), b.player.isPaused()]).toEqual([false, false]);
    // Each started at effective_at by its own estimate of the server clock (a tick of its own there).
    expect(Math.abs(a.player.currentTime() - b.player.currentTime())).toBeLessThan(0.1);
    await time.advance(4000);
    expect(Math.abs(a.player.currentTime() - b.player.currentTime())).toBeLessThan(0.08);
    for (const v of [a, b]) v.stop();
  });

  it("a pause lands the player on the room's position and holds it", async () => {
    const time = new FakeTime();
    const v = viewer(time, { skew: 0, up: 20, down: 20 });
    v.deliver(playing(time, 50));
    v.start();
    await time.advance(6000);
    v.deliver({ ...playing(time, 56.5, 2), is_playing: false });
    await time.advance(2000);
    expect(v.player.isPaused()).toBe(true);
    const held = v.player.currentTime();
    expect(Math.abs(held - 56.5)).toBeLessThanOrEqual(0.02);
    await time.advance(10_000);
    expect(v.player.currentTime()).toBe(held);
    v.stop();
  });

  it("does nothing before the clock estimate, and sends SYNC_REPORT every 5 s once it has one", async () => {
    const time = new FakeTime();
    const v = viewer(time, { skew: 9_000, up: 25, down: 25 });
    v.deliver(playing(time, 100));
    v.controller.start(); // the clock is not started: no estimate
    await time.advance(3000);
    expect(v.player.calls.seeks).toEqual([]);
    expect(v.player.calls.plays).toBe(0);
    expect(v.controller.stats.phase).toBe("idle");
    expect(v.reports).toEqual([]);
    v.clock.start();
    await time.until(() => v.reports.length === 3, 20_000, 100);
    expect(v.reports.at(-1)).toEqual({ position: expect.any(Number), rtt_ms: 50, buffering: expect.any(Boolean) });
    expect(v.controller.stats).toMatchObject({ synced: true, rtt: 50, reports: 3, serverDrift: 0 });
    expect(Math.abs(v.controller.stats.offset - (SERVER_EPOCH - WALL_EPOCH - 9_000))).toBeLessThanOrEqual(25);
    v.stop();
  });

  it("reports a buffering that lasts at once, and its end, for the room's buffering policy; a short one waits for the next report", async () => {
    const time = new FakeTime();
    const v = viewer(time, { skew: 0, up: 25, down: 25 });
    v.deliver(playing(time, 100));
    v.start();
    await time.until(() => v.reports.length === 1 && Math.abs(v.error()) < 0.1, 10_000, 100);
    const since = v.reports.length;
    // A correction-sized stall: no report of its own.
    v.player.stall(300);
    await time.advance(1500);
    expect(v.reports.length).toBe(since);
    // A stall that lasts: reported about a second in, and its end at once.
    v.player.stall(2500);
    await time.until(() => v.reports.length === since + 1, 1200, 10);
    expect(v.reports.at(-1)).toMatchObject({ buffering: true });
    await time.until(() => v.reports.length === since + 2, 1600, 10);
    expect(v.reports.at(-1)).toMatchObject({ buffering: false });
    v.stop();
  });

  it("reports a player that refuses to start (autoplay policy) and tries again later, not every tick", async () => {
    const time = new FakeTime();
    const v = viewer(time, { skew: 0, up: 10, down: 10 });
    let refusals = 0;
    v.player.play = () => {
      refusals += 1;
      return Promise.reject(new Error("NotAllowedError"));
    };
    const blocked: unknown[] = [];
    v.controller.on("playblocked", (err) => blocked.push(err));
    v.deliver(playing(time, 10));
    v.start();
    await time.advance(5000);
    expect(refusals).toBeGreaterThanOrEqual(2);
    expect(refusals).toBeLessThanOrEqual(3);
    expect(blocked).toHaveLength(refusals);
    expect(v.controller.stats.playBlocked).toBe(true);
    v.stop();
  });
});
