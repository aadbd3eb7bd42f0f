/**
 * The correction ladder against a simulated player: convergence from a small drift (rate
 * nudges) and from a large one (one seek), no oscillation once converged, no seek while
 * buffering, the cooldown after a seek, players without rate control, and a paused room.
 */
import { describe, expect, it } from "vitest";
import { type CorrectionOptions, Corrector } from "../../packages/client/src/correction.js";
import { FakeTime } from "./helpers/fake-time.js";
import { SimPlayer, type SimPlayerOptions } from "./helpers/sim-player.js";

const TICK_MS = 200;
const DEAD_BAND = 0.04;

/** A room advancing at `rate` from `start`, a player, and the ladder between them, ticking. */
class Rig {
  readonly time = new FakeTime();
  readonly player: SimPlayer;
  readonly corrector: Corrector;
  playing = true;
  rate = 1;
  private start = 100;
  private t0 = 0;
  /** [ms, drift] after each tick's correction was applied. */
  readonly trace: { t: number; drift: number; phase: string }[] = [];
  /** Seeks the ladder asked for while the player was buffering (must stay empty). */
  readonly seeksWhileBuffering: number[] = [];

  constructor(drift: number, player: SimPlayerOptions = {}, options: CorrectionOptions = {}) {
    this.player = new SimPlayer(this.time, { position: this.start + drift, ...player });
    this.corrector = new Corrector(options);
  }

  intended(): number {
    return this.playing ? this.start + ((this.time.mono() - this.t0) / 1000) * this.rate : this.start;
  }

  /** The host moves the room to `to` (a seek) or pauses / plays it there. */
  hostSets(to: number, playing = this.playing): void {
    this.start = to;
    this.t0 = this.time.mono();
    this.playing = playing;
  }

  drift(): number {
    return this.player.currentTime() - this.intended();
  }

  async run(ms: number): Promise<void> {
    const end = this.time.mono() + ms;
    while (this.time.mono() < end) {
      await this.time.advance(TICK_MS);
      const buffering = this.player.isBuffering();
      const c = this.corrector.update({
        intended: this.intended(),
        actual: this.player.currentTime(),
        playing: this.playing,
        buffering,
        now: this.time.mono(),
        roomRate: this.rate,
        canSetRate: this.player.canSetRate,
        seekLatencyMs: this.player.seekLatencyMs(),
      });
      if (c.seekTo !== undefined) {
        if (buffering) this.seeksWhileBuffering.push(this.time.mono());
        this.player.seek(c.seekTo);
      }
      if (c.rate !== undefined && this.player.canSetRate) this.player.setRate(c.rate);
      this.trace.push({ t: this.time.mono(), drift: this.drift(), phase: this.corrector.snapshot.phase });
    }
  }

  /** Ticks until `done()` holds; the time it did. */
  async runUntil(done: () => boolean, maxMs: number): Promise<number> {
    const end = this.time.mono() + maxMs;
    while (!done()) {
      if (this.time.mono() >= end) throw new Error(`condition not met within ${maxMs} simulated ms`);
      await this.run(TICK_MS);
    }
    return this.time.mono();
  }

  /** The first time (ms) from which |drift| stayed under `band` until the end of the trace. */
  settledAt(band = DEAD_BAND): number | undefined {
    let at: number | undefined;
    for (const { t, drift } of this.trace) {
      if (Math.abs(drift) >= band) at = undefined;
      else at ??= t;
    }
    return at;
  }

  get stats() {
    return this.corrector.snapshot;
  }
}

describe("correction ladder", () => {
  it("closes a 300 ms lead with rate nudges within 3 s, bounded to ±10%, without a seek", async () => {
    const rig = new Rig(0.3);
    await rig.run(6000);
    expect(rig.player.calls.seeks).toEqual([]);
    expect(rig.settledAt()).toBeLessThanOrEqual(3000);
    expect(rig.player.minRate).toBeGreaterThanOrEqual(0.9 - 1e-9);
    expect(rig.player.maxRate).toBe(1); // ahead: only ever slower
    expect(rig.player.effectiveRate).toBe(1); // back to the room's rate in the dead band
    // Hysteresis: it went on to ~0 instead of stopping at the dead band's edge.
    expect(Math.abs(rig.drift())).toBeLessThan(0.015);
  });

  it("closes a 300 ms lag by playing faster", async () => {
    const rig = new Rig(-0.3);
    await rig.run(6000);
    expect(rig.player.calls.seeks).toEqual([]);
    expect(rig.settledAt()).toBeLessThanOrEqual(3000);
    expect(rig.player.maxRate).toBeLessThanOrEqual(1.1 + 1e-9);
    expect(rig.player.minRate).toBe(1);
    expect(rig.player.effectiveRate).toBe(1);
  });

  it("scales the nudges with the room's rate", async () => {
    const rig = new Rig(0.3);
    rig.rate = 1.5;
    await rig.run(6000);
    expect(rig.settledAt()).toBeLessThanOrEqual(3000);
    expect(Math.min(...rig.player.calls.rates)).toBeGreaterThanOrEqual(1.5 * 0.9 - 1e-9);
    expect(Math.max(...rig.player.calls.rates)).toBe(1.5);
    expect(rig.player.effectiveRate).toBe(1.5);
  });

  it("does not overshoot nor oscillate, even when the player applies rates late", async () => {
    const rig = new Rig(0.3, { rateDelayMs: 250 });
    await rig.run(8000);
    expect(rig.settledAt()).toBeLessThanOrEqual(3500);
    // Never past the dead band on the other side.
    expect(Math.min(...rig.trace.map((p) => p.drift))).toBeGreaterThan(-DEAD_BAND);
    const changes = rig.stats.rateChanges;
    await rig.run(30_000);
    expect(rig.stats.rateChanges).toBe(changes);
    expect(rig.player.calls.seeks).toEqual([]);
  });

  it("fixes a 5 s drift with one seek that aims where the room will be (player-measured latency)", async () => {
    const rig = new Rig(-5, { seekLatencyMs: 400, reportsLatency: true });
    await rig.run(6000);
    expect(rig.player.calls.seeks).toHaveLength(1);
    // Aimed 400 ms ahead of the room: it lands (and stays) in the dead band.
    expect(rig.settledAt()).toBeLessThanOrEqual(1000);
    expect(rig.stats.rateChanges).toBe(0);
  });

  it("fixes a 5 s drift on a player that does not measure its seeks: one seek, then nudges", async () => {
    const rig = new Rig(5, { seekLatencyMs: 400 });
    await rig.run(8000);
    expect(rig.player.calls.seeks).toHaveLength(1);
    expect(rig.settledAt()).toBeLessThanOrEqual(5000);
    // It learned the landing delay from that seek.
    expect(rig.stats.seekLeadMs).toBeGreaterThan(300);
    expect(rig.stats.seekLeadMs).toBeLessThan(500);
  });

  it("aims the next seek with the landing delay it learned", async () => {
    const rig = new Rig(-5, { seekLatencyMs: 500 });
    await rig.run(8000);
    rig.hostSets(rig.intended() + 120); // the host jumps ahead two minutes
    const from = rig.trace.length;
    await rig.run(3000);
    expect(rig.player.calls.seeks).toHaveLength(2);
    const landed = rig.trace.slice(from).find((p) => p.phase !== "seeking" && p.phase !== "buffering" && p.phase !== "settling");
    expect(Math.abs(landed!.drift)).toBeLessThan(0.06);
  });

  it("stays put once converged: no seek and no rate change for a minute", async () => {
    const rig = new Rig(-2, { seekLatencyMs: 300, reportsLatency: true });
    await rig.run(5000);
    const { seeks, rateChanges } = rig.stats;
    await rig.run(60_000);
    expect(rig.stats.seeks).toBe(seeks);
    expect(rig.stats.rateChanges).toBe(rateChanges);
    expect(Math.abs(rig.drift())).toBeLessThan(DEAD_BAND);
  });

  it("never seeks while the player is buffering, and seeks once it plays again", async () => {
    const rig = new Rig(-5, { seekLatencyMs: 300, reportsLatency: true });
    rig.player.stall(3000);
    await rig.run(2800);
    expect(rig.player.calls.seeks).toEqual([]);
    expect(rig.stats.phase).toBe("buffering");
    await rig.run(3000);
    expect(rig.player.calls.seeks).toHaveLength(1);
    expect(rig.seeksWhileBuffering).toEqual([]);
    expect(Math.abs(rig.drift())).toBeLessThan(DEAD_BAND);
  });

  it("waits out the cooldown before a second seek, nudging at the bound meanwhile", async () => {
    const rig = new Rig(5, { seekLatencyMs: 300, reportsLatency: true });
    await rig.run(TICK_MS); // the first tick seeks
    expect(rig.player.calls.seeks).toHaveLength(1);
    const firstAt = rig.time.mono();
    await rig.run(800);
    rig.player.jump(3); // the user scrubs away right after it landed
    const secondAt = await rig.runUntil(() => rig.player.calls.seeks.length === 2, 5000);
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(2000);
    expect(secondAt - firstAt).toBeLessThan(2000 + 2 * TICK_MS);
    expect(rig.player.minRate).toBeCloseTo(0.9, 9);
  });

  it("seeks on a player without rate control, and leaves a drift under its tolerance alone", async () => {
    const rig = new Rig(0.3, { canSetRate: false, seekLatencyMs: 300 });
    await rig.run(8000);
    expect(rig.player.calls.rates).toEqual([]);
    // The first seek lands a latency behind; the second aims with the learned delay.
    expect(rig.player.calls.seeks.length).toBeGreaterThanOrEqual(1);
    expect(rig.player.calls.seeks.length).toBeLessThanOrEqual(2);
    expect(Math.abs(rig.drift())).toBeLessThan(0.1);

    const calm = new Rig(0.07, { canSetRate: false });
    await calm.run(10_000);
    expect(calm.player.calls.seeks).toEqual([]);
  });

  it("in a paused room, seeks once to the exact position and never nudges the rate", async () => {
    const rig = new Rig(2, { paused: true });
    rig.hostSets(100, false);
    await rig.run(3000);
    expect(rig.player.calls.seeks).toEqual([100]);
    expect(rig.drift()).toBe(0);
    expect(rig.stats.rateChanges).toBe(0);
    expect(rig.stats.phase).toBe("paused");
  });

  it("tries a paused seek once per target when the player snaps it elsewhere (keyframes)", async () => {
    const rig = new Rig(2, { paused: true });
    const seek = rig.player.seek.bind(rig.player);
    rig.player.seek = (t: number) => seek(t - 0.5);
    rig.hostSets(100, false);
    await rig.run(5000);
    expect(rig.player.calls.seeks).toHaveLength(1);
    rig.hostSets(200, false); // a new target is tried again
    await rig.run(2000);
    expect(rig.player.calls.seeks).toHaveLength(2);
  });
});
