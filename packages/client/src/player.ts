/**
 * What the SDK needs of a player: read its position, move it, play, pause and, when it can,
 * change its rate. Adapters wrap a real player (html5-player.ts for a <video>); tests use a
 * simulated one.
 */

export type PlayerEvent = "bufferingstart" | "bufferingend" | "seeked";

export interface PlayerAdapter {
  /** Whether `setRate` works (some embeds have no rate control: then drift is fixed by seeking). */
  readonly canSetRate: boolean;
  /** The media position (s). */
  currentTime(): number;
  seek(time: number): void;
  play(): void | Promise<void>;
  pause(): void;
  setRate(rate: number): void;
  /** True while the player is paused (by us or the user). */
  isPaused(): boolean;
  /** True while the player cannot advance: no data yet, stalled, or seeking. */
  isBuffering(): boolean;
  /** How long a seek takes here (ms, smoothed); undefined until one was measured. */
  seekLatencyMs?(): number | undefined;
  /** Subscribes to a player event; the returned function unsubscribes. */
  on(event: PlayerEvent, handler: () => void): () => void;
  /** Detaches the adapter from the player (listeners). */
  dispose?(): void;
}

/**
 * A smoothed seek latency: the time from a seek call to the player being there again. A seek
 * aims at where the room will be once the player got there, so this is what it adds.
 */
export class SeekLatency {
  private value: number | undefined;
  private startedAt: number | undefined;

  /** `alpha`: the weight of a new measurement (an EWMA: one slow seek does not skew it for long). */
  constructor(
    private readonly now: () => number,
    private readonly alpha = 0.3,
    /** Longer than this is not a seek's latency but a stall after it, ignored (ms). */
    private readonly maxMs = 5_000,
  ) {}

  started(): void {
    this.startedAt = this.now();
  }

  /** The seek landed; returns the measurement (ms), if one was running. */
  landed(): number | undefined {
    if (this.startedAt === undefined) return undefined;
    const ms = this.now() - this.startedAt;
    this.startedAt = undefined;
    if (ms < 0 || ms > this.maxMs) return undefined;
    this.value = this.value === undefined ? ms : this.value + this.alpha * (ms - this.value);
    return ms;
  }

  get ms(): number | undefined {
    return this.value;
  }
}
