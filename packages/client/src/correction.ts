/**
 * The correction ladder: what to do, each tick, about the gap between where the room is and
 * where the player is. Small gaps are left alone (a dead band: nobody sees 40 ms, and chasing
 * them would keep the rate wobbling); medium ones are closed by playing slightly faster or
 * slower, which nobody notices either; only large ones (or any, on a player without rate
 * control) are worth the visible jump of a seek. A seek stalls the player, so it aims where the
 * room will be once it lands, and after one the ladder waits: acting on positions read while the
 * player is still landing would trigger the next seek, and the next (oscillation).
 *
 * Pure and deterministic: the caller passes the time and the readings, and applies the result.
 */

export interface CorrectionOptions {
  /** |drift| below this is fine (s); the rate goes back to the room's. Default 0.04. */
  deadBand?: number;
  /**
   * Once nudging, go on until |drift| is below this (s). Default 0.01. Hysteresis: stopping at
   * the dead band's edge would leave a viewer sitting ~40 ms off for good; aiming at ~0 costs
   * only a second more of an unnoticeable rate change.
   */
  lockBand?: number;
  /**
   * Proportional gain (per second of drift): rate = roomRate × (1 − gain × drift). Default 1.5:
   * with the ±10% bound a 300 ms drift closes at the bound for ~2.3 s and is in the dead band
   * within ~2.7 s; at 4–5 ticks a second the loop stays well damped (a tick removes at most
   * gain × interval ≈ 30% of the drift, so it cannot overshoot).
   */
  gain?: number;
  /** The rate stays within roomRate × (1 ± this). Default 0.1. */
  maxRateDeviation?: number;
  /**
   * In a paused room, |drift| above this is corrected by a seek (s). Default 0.02, half a frame
   * at 24 fps: paused, everyone should show the same frame, and a paused seek costs nothing visible.
   */
  pausedDeadBand?: number;
  /** |drift| above this is corrected by a seek (s). Default 1. */
  seekThreshold?: number;
  /**
   * On a player without rate control, |drift| above this is corrected by a seek (s). Default
   * 0.1: a seek there lands only as precisely as its latency is known, so seeking for less
   * than that would chase the landing error every cooldown.
   */
  deadBandWithoutRate?: number;
  /** No seek within this long after the last one (ms). Default 2000. */
  seekCooldownMs?: number;
  /** After a seek or a stall, readings are trusted again once the player ran this long (ms). Default 300. */
  settleMs?: number;
  /** Rates are rounded to this fraction of the room's rate, so tiny changes are not sent each tick. Default 0.005. */
  rateStep?: number;
}

export interface CorrectionInput {
  /** Where the room is (s). */
  intended: number;
  /** Where the player is (s). */
  actual: number;
  /** Whether the room is playing. */
  playing: boolean;
  /** Whether the player cannot advance now (no data, stalled, seeking, or not yet playing). */
  buffering: boolean;
  /** Monotonic time (ms). */
  now: number;
  /** The room's rate. */
  roomRate: number;
  /** Whether the player can change its rate. */
  canSetRate: boolean;
  /** The player's own seek latency measurement (ms), if it has one. */
  seekLatencyMs?: number | undefined;
}

/** What to do: seek to `seekTo` and/or set the rate to `rate`; neither means nothing. */
export interface Correction {
  /** actual − intended (s): positive = ahead of the room. */
  drift: number;
  seekTo?: number;
  rate?: number;
}

export type CorrectionPhase = "locked" | "nudging" | "seeking" | "settling" | "buffering" | "paused";

export interface CorrectionStats {
  seeks: number;
  rateChanges: number;
  /** The latest drift (s), undefined before the first tick. */
  lastDrift: number | undefined;
  phase: CorrectionPhase;
  /** How far ahead a seek aims (ms): the learned landing delay. */
  seekLeadMs: number;
}

const DEFAULTS: Required<CorrectionOptions> = {
  deadBand: 0.04,
  lockBand: 0.01,
  pausedDeadBand: 0.02,
  gain: 1.5,
  maxRateDeviation: 0.1,
  seekThreshold: 1,
  deadBandWithoutRate: 0.1,
  seekCooldownMs: 2000,
  settleMs: 300,
  rateStep: 0.005,
};

/** Learned seek leads beyond this (ms) are a stall, not a seek's latency. */
const MAX_SEEK_LEAD_MS = 5000;

export class Corrector {
  private readonly opts: Required<CorrectionOptions>;
  /** The rate last asked of the player; undefined: never set (so the first tick sets it). */
  private rate: number | undefined;
  private lastSeekAt = Number.NEGATIVE_INFINITY;
  /** The lead of the seek in flight (ms), until its landing was judged. */
  private seekInFlight: { lead: number; rate: number } | undefined;
  /** Since when the player has been advancing undisturbed (no seek, no stall). */
  private quietSince = Number.NEGATIVE_INFINITY;
  private learnedLeadMs: number | undefined;
  /** Where the last seek while paused aimed. */
  private pausedTarget: number | undefined;
  private stats: CorrectionStats = { seeks: 0, rateChanges: 0, lastDrift: undefined, phase: "locked", seekLeadMs: 0 };

  constructor(options: CorrectionOptions = {}) {
    this.opts = { ...DEFAULTS, ...options };
  }

  get snapshot(): Readonly<CorrectionStats> {
    return { ...this.stats };
  }

  /** Forget the settle state (a new source, a reconnect): the next reading is acted on. */
  reset(): void {
    this.lastSeekAt = Number.NEGATIVE_INFINITY;
    this.quietSince = Number.NEGATIVE_INFINITY;
    this.seekInFlight = undefined;
    this.pausedTarget = undefined;
  }

  /** A seek made outside the ladder (a player started far off): counted, and the cooldown starts. */
  noteSeek(now: number): void {
    this.lastSeekAt = now;
    this.quietSince = now;
    this.seekInFlight = undefined;
    this.stats.seeks += 1;
  }

  /** Tells the ladder the rate the player has now, when something else changed it. */
  rateChangedExternally(rate: number): void {
    this.rate = rate;
  }

  update(input: CorrectionInput): Correction {
    const o = this.opts;
    const drift = input.actual - input.intended;
    this.stats.lastDrift = drift;
    const abs = Math.abs(drift);

    if (input.buffering) {
      // Readings mean nothing while it cannot advance, and a seek now would restart the wait.
      this.quietSince = Number.POSITIVE_INFINITY;
      return this.decide(drift, "buffering", input.roomRate);
    }
    if (this.quietSince === Number.POSITIVE_INFINITY) this.quietSince = input.now;
    if (input.now - this.quietSince < o.settleMs) return this.decide(drift, "settling", input.roomRate);

    if (this.seekInFlight) {
      this.learnFromLanding(drift, this.seekInFlight);
      this.seekInFlight = undefined;
    }

    if (!input.playing) {
      // Paused, nothing runs away and a seek lands where it aims: no cooldown. But some players
      // snap a paused seek to a keyframe; one try per target, or it would seek on every settle.
      const tried = this.pausedTarget !== undefined && Math.abs(this.pausedTarget - input.intended) < o.pausedDeadBand;
      if (abs > o.pausedDeadBand && !tried) {
        this.pausedTarget = input.intended;
        return this.seek(input, input.intended, drift, 0);
      }
      return this.decide(drift, "paused", input.roomRate);
    }
    this.pausedTarget = undefined;

    const needsSeek = abs > o.seekThreshold || (!input.canSetRate && abs > o.deadBandWithoutRate);
    const mayNudge = input.canSetRate && abs >= (this.stats.phase === "nudging" ? o.lockBand : o.deadBand);
    if (needsSeek && input.now - this.lastSeekAt >= o.seekCooldownMs) {
      const lead = this.seekLeadMs(input.seekLatencyMs);
      return this.seek(input, input.intended + (lead / 1000) * input.roomRate, drift, lead);
    }
    if (!mayNudge) return this.decide(drift, needsSeek ? "seeking" : "locked", input.roomRate);
    const factor = 1 - clamp(o.gain * drift, -o.maxRateDeviation, o.maxRateDeviation);
    const stepped = Math.round(factor / o.rateStep) * o.rateStep;
    return this.decide(drift, "nudging", input.roomRate * stepped);
  }

  /** The lead a seek aims with (ms): learned from earlier landings, else the player's measure. */
  private seekLeadMs(playerMs: number | undefined): number {
    return this.learnedLeadMs ?? playerMs ?? 0;
  }

  /**
   * After a seek, the first trusted drift says how far the aim was off: landing behind means
   * the seek took longer than the lead it aimed with.
   */
  private learnFromLanding(drift: number, seek: { lead: number; rate: number }): void {
    if (seek.rate <= 0) return;
    const landed = clamp(seek.lead - (drift * 1000) / seek.rate, 0, MAX_SEEK_LEAD_MS);
    this.learnedLeadMs = this.learnedLeadMs === undefined ? landed : this.learnedLeadMs + 0.5 * (landed - this.learnedLeadMs);
    this.stats.seekLeadMs = this.learnedLeadMs;
  }

  private seek(input: CorrectionInput, to: number, drift: number, lead: number): Correction {
    this.lastSeekAt = input.now;
    this.quietSince = input.now;
    // Only a seek while playing teaches the lead (a paused one has nothing to lead).
    this.seekInFlight = input.playing ? { lead, rate: input.roomRate } : undefined;
    this.stats.seeks += 1;
    const result = this.decide(drift, "seeking", input.roomRate);
    return { ...result, seekTo: Math.max(0, to) };
  }

  private decide(drift: number, phase: CorrectionPhase, rate: number): Correction {
    this.stats.phase = phase;
    if (this.rate !== undefined && Math.abs(this.rate - rate) < 1e-9) return { drift };
    // The first rate set only aligns the player with the room: not a correction.
    if (this.rate !== undefined) this.stats.rateChanges += 1;
    this.rate = rate;
    return { drift, rate };
  }
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
