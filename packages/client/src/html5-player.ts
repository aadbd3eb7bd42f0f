/** A PlayerAdapter over an HTML5 <video> (or <audio>) element. */
import { Emitter } from "./emitter.js";
import { type PlayerAdapter, type PlayerEvent, SeekLatency } from "./player.js";
import { systemClocks } from "./timers.js";

/**
 * What the adapter needs of an HTMLMediaElement: a <video> or <audio> is one; typed here so
 * the SDK compiles without the DOM library, and a test can pass a fake.
 */
export interface MediaElementLike {
  currentTime: number;
  playbackRate: number;
  readonly paused: boolean;
  readonly seeking: boolean;
  readonly readyState: number;
  play(): Promise<void>;
  pause(): void;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** HTMLMediaElement.HAVE_FUTURE_DATA: enough data to advance past the current frame. */
const HAVE_FUTURE_DATA = 3;

/** The events after which the element's buffering state may have changed. */
const STATE_EVENTS = ["waiting", "playing", "stalled", "seeking", "seeked", "canplay", "canplaythrough", "loadeddata", "emptied"] as const;

export class Html5Player implements PlayerAdapter {
  readonly canSetRate = true;
  private readonly events = new Emitter<Record<PlayerEvent, () => void>>();
  private readonly latency: SeekLatency;
  /** 'waiting' was seen and no 'playing' since: the element said it ran out of data. */
  private waiting = false;
  private buffering: boolean;
  private readonly listeners: [string, () => void][] = [];

  constructor(
    private readonly video: MediaElementLike,
    now: () => number = systemClocks.mono,
  ) {
    this.latency = new SeekLatency(now);
    this.buffering = this.isBuffering();
    for (const type of STATE_EVENTS) this.listen(type, () => this.onStateEvent(type));
  }

  currentTime(): number {
    return this.video.currentTime;
  }

  seek(time: number): void {
    this.latency.started();
    this.video.currentTime = time;
  }

  play(): Promise<void> {
    // Autoplay policies refuse play() without a user gesture: the caller decides what to show.
    return this.video.play();
  }

  pause(): void {
    this.video.pause();
  }

  setRate(rate: number): void {
    if (this.video.playbackRate !== rate) this.video.playbackRate = rate;
  }

  isPaused(): boolean {
    return this.video.paused;
  }

  isBuffering(): boolean {
    return this.video.seeking || this.waiting || this.video.readyState < HAVE_FUTURE_DATA;
  }

  seekLatencyMs(): number | undefined {
    return this.latency.ms;
  }

  on(event: PlayerEvent, handler: () => void): () => void {
    return this.events.on(event, handler);
  }

  dispose(): void {
    for (const [type, fn] of this.listeners) this.video.removeEventListener(type, fn);
    this.listeners.length = 0;
    this.events.clear();
  }

  private listen(type: string, fn: () => void): void {
    this.video.addEventListener(type, fn);
    this.listeners.push([type, fn]);
  }

  private onStateEvent(type: (typeof STATE_EVENTS)[number]): void {
    if (type === "waiting") this.waiting = true;
    else if (type === "playing" || type === "emptied") this.waiting = false;
    // A paused element never fires 'playing': enough data is the end of its wait.
    else if ((type === "canplay" || type === "canplaythrough") && this.video.paused) this.waiting = false;
    if (type === "seeked") {
      this.latency.landed();
      this.events.emit("seeked");
    }
    const buffering = this.isBuffering();
    if (buffering === this.buffering) return;
    this.buffering = buffering;
    this.events.emit(buffering ? "bufferingstart" : "bufferingend");
  }
}
