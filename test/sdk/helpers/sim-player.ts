/**
 * A simulated player on FakeTime: its position advances at its rate while it plays and is not
 * buffering; a seek reads the target at once (as a <video> does) but stalls for `seekLatencyMs`;
 * a rate change takes effect after `rateDelayMs` (some players apply it at the next frame or
 * buffer boundary); `stall(ms)` makes it buffer.
 */
import type { PlayerAdapter, PlayerEvent } from "../../../packages/client/src/player.js";
import type { FakeTime } from "./fake-time.js";

export interface SimPlayerOptions {
  canSetRate?: boolean;
  seekLatencyMs?: number;
  rateDelayMs?: number;
  /** What the player says its seek latency is (undefined: it does not measure it). */
  reportsLatency?: boolean;
  position?: number;
  paused?: boolean;
}

export class SimPlayer implements PlayerAdapter {
  readonly canSetRate: boolean;
  /** How long a seek stalls it (ms); tests may change it. */
  latencyMs: number;
  readonly rateDelayMs: number;
  private readonly reportsLatency: boolean;
  private pos: number;
  private lastT: number;
  private paused: boolean;
  private rate = 1;
  private busyUntil = Number.NEGATIVE_INFINITY;
  private pendingRate: { rate: number; at: number } | undefined;
  private handlers = new Map<PlayerEvent, Set<() => void>>();
  /** Every call the SDK made, for assertions. */
  readonly calls = { seeks: [] as number[], rates: [] as number[], plays: 0, pauses: 0 };
  /** The lowest and highest rates the SDK set. */
  minRate = 1;
  maxRate = 1;

  constructor(
    private readonly time: FakeTime,
    options: SimPlayerOptions = {},
  ) {
    this.canSetRate = options.canSetRate ?? true;
    this.latencyMs = options.seekLatencyMs ?? 300;
    this.rateDelayMs = options.rateDelayMs ?? 0;
    this.reportsLatency = options.reportsLatency ?? false;
    this.pos = options.position ?? 0;
    this.paused = options.paused ?? false;
    this.lastT = time.mono();
  }

  /** Brings the position up to now, applying a rate change that came due on the way. */
  private advance(): void {
    const now = this.time.mono();
    let from = Math.max(this.lastT, Math.min(now, this.busyUntil));
    if (this.pendingRate && this.pendingRate.at <= now) {
      const switchAt = Math.max(from, this.pendingRate.at);
      if (!this.paused && switchAt > from) this.pos += ((switchAt - from) / 1000) * this.rate;
      from = Math.max(from, switchAt);
      this.rate = this.pendingRate.rate;
      this.pendingRate = undefined;
    }
    if (!this.paused && now > from && now >= this.busyUntil) this.pos += ((now - from) / 1000) * this.rate;
    this.lastT = now;
  }

  currentTime(): number {
    this.advance();
    return this.pos;
  }

  seek(time: number): void {
    this.advance();
    this.calls.seeks.push(time);
    this.pos = time;
    this.busyUntil = this.time.mono() + this.latencyMs;
    this.time.setTimeout(() => this.emit("seeked"), this.latencyMs);
  }

  play(): void {
    this.advance();
    this.calls.plays += 1;
    this.paused = false;
  }

  pause(): void {
    this.advance();
    this.calls.pauses += 1;
    this.paused = true;
  }

  setRate(rate: number): void {
    if (!this.canSetRate) throw new Error("this player has no rate control");
    this.advance();
    this.calls.rates.push(rate);
    this.minRate = Math.min(this.minRate, rate);
    this.maxRate = Math.max(this.maxRate, rate);
    if (this.rateDelayMs === 0) this.rate = rate;
    else this.pendingRate = { rate, at: this.time.mono() + this.rateDelayMs };
  }

  isPaused(): boolean {
    return this.paused;
  }

  isBuffering(): boolean {
    return this.time.mono() < this.busyUntil;
  }

  /** The player stops advancing for `ms` (a network stall). */
  stall(ms: number): void {
    this.advance();
    this.busyUntil = Math.max(this.busyUntil, this.time.mono() + ms);
    this.emit("bufferingstart");
    this.time.setTimeout(() => {
      if (!this.isBuffering()) this.emit("bufferingend");
    }, ms);
  }

  /** Moves the position as a user scrubbing would (not a call of the SDK). */
  jump(by: number): void {
    this.advance();
    this.pos += by;
  }

  get effectiveRate(): number {
    return this.rate;
  }

  on(event: PlayerEvent, handler: () => void): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  private emit(event: PlayerEvent): void {
    for (const handler of this.handlers.get(event) ?? []) handler();
  }

  /** PlayerAdapter's optional measurement: only when the simulated player claims to measure it. */
  seekLatencyMs(): number | undefined {
    return this.reportsLatency ? this.latencyMs : undefined;
  }
}
