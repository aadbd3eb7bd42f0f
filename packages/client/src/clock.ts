/**
 * The server's clock, estimated NTP-style over TIME_SYNC. Playback states are anchored in server
 * time (`server_time`, epoch ms), so every viewer computing "where the room is now" needs the
 * same notion of now: the page's own Date may be off by seconds, and that error would become a
 * drift of seconds. A burst of pings measures it; the samples with the lowest round trip are the
 * least delayed by queues (as Jellyfin's SyncPlay keeps them), and the answer's server time is
 * taken as the middle of its round trip.
 */
import { Emitter } from "./emitter.js";
import { type Clocks, type Scheduler, systemClocks, systemScheduler } from "./timers.js";

/** Sends TIME_SYNC `{client_ts}` and resolves with the answer's `server_ts` (epoch ms). */
export type Ping = (clientTs: number) => Promise<number>;

export interface ClockEstimate {
  /** Server time minus wall time (ms): `serverNow = Date.now() + offset`. */
  offset: number;
  /** How far off the offset may be (ms): half the best round trip. */
  errorBound: number;
  /** The best round trip of the burst (ms). */
  rtt: number;
  /** Monotonic time of the estimate (ms). */
  at: number;
}

export interface ServerClockOptions {
  ping: Ping;
  clocks?: Clocks;
  scheduler?: Scheduler;
  /** Pings per burst (default 8). */
  samples?: number;
  /** Pause between two pings of a burst after the first (default 75 ms): spread over queueing hiccups. */
  spacingMs?: number;
  /** How many of the lowest-RTT samples are averaged (default 3). */
  keep?: number;
  /** A new burst every this long (default 30 s). */
  resyncMs?: number;
  /** Retry this soon when a burst got no answer at all (default 2 s). */
  retryMs?: number;
  /**
   * When the wall clock moved this much more (or less) than the monotonic one since the last
   * estimate (default 50 ms), the wall clock was stepped (NTP, the user, a sleep): the offset is
   * stale, estimate again at once.
   */
  jumpToleranceMs?: number;
  /**
   * How fast an estimate's error bound is taken to grow (default 100 ppm: two drifting quartz
   * clocks and slewing). A periodic burst replaces an estimate only when it is better than that.
   */
  driftPpm?: number;
}

interface Sample {
  rtt: number;
  offset: number;
}

type ClockEvents = { sync: (estimate: ClockEstimate) => void };

export class ServerClock {
  private readonly ping: Ping;
  private readonly clocks: Clocks;
  private readonly scheduler: Scheduler;
  private readonly opts: Required<Omit<ServerClockOptions, "ping" | "clocks" | "scheduler">>;
  private readonly events = new Emitter<ClockEvents>();
  private current: (ClockEstimate & { wallMinusMono: number }) | undefined;
  private running: Promise<void> | undefined;
  /** A replacing burst was asked for while another ran (its samples predate the reason). */
  private rerun = false;
  private timer: unknown;
  private started = false;

  constructor(options: ServerClockOptions) {
    this.ping = options.ping;
    this.clocks = options.clocks ?? systemClocks;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.opts = {
      samples: options.samples ?? 8,
      spacingMs: options.spacingMs ?? 75,
      keep: options.keep ?? 3,
      resyncMs: options.resyncMs ?? 30_000,
      retryMs: options.retryMs ?? 2_000,
      jumpToleranceMs: options.jumpToleranceMs ?? 50,
      driftPpm: options.driftPpm ?? 100,
    };
  }

  /** Server time minus wall time (ms); 0 before the first estimate. */
  get offset(): number {
    return this.current?.offset ?? 0;
  }

  /** How far off `serverNow()` may be (ms), growing slowly with age; Infinity before the first estimate. */
  get errorBound(): number {
    const c = this.current;
    if (!c) return Number.POSITIVE_INFINITY;
    return c.errorBound + ((this.clocks.mono() - c.at) * this.opts.driftPpm) / 1e6;
  }

  /** The best round trip of the latest estimate (ms); undefined before one. */
  get rtt(): number | undefined {
    return this.current?.rtt;
  }

  get synced(): boolean {
    return this.current !== undefined;
  }

  get estimate(): ClockEstimate | undefined {
    const c = this.current;
    return c && { offset: c.offset, errorBound: c.errorBound, rtt: c.rtt, at: c.at };
  }

  /** The server's clock now (epoch ms). */
  serverNow(): number {
    return this.clocks.wall() + this.offset;
  }

  on<K extends keyof ClockEvents>(event: K, handler: ClockEvents[K]): () => void {
    return this.events.on(event, handler);
  }

  /** Estimates now and then every `resyncMs`. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.resync(true);
  }

  stop(): void {
    this.started = false;
    this.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs a burst. `replace`: the old estimate no longer holds (a reconnect, maybe to another
   * instance; the page was hidden; the wall clock jumped), so the new one wins even if worse.
   */
  resync(replace = false): Promise<void> {
    if (this.running) {
      if (replace) this.rerun = true;
      return this.running;
    }
    this.scheduler.clearTimeout(this.timer);
    this.running = this.burst(replace).finally(() => {
      this.running = undefined;
      if (this.rerun) {
        this.rerun = false;
        void this.resync(true);
      } else {
        this.schedule(this.current ? this.opts.resyncMs : this.opts.retryMs);
      }
    });
    return this.running;
  }

  /** Called on every sync tick: a stepped wall clock makes the offset wrong by the step. */
  check(): void {
    const c = this.current;
    if (!c || this.running) return;
    const moved = this.clocks.wall() - this.clocks.mono() - c.wallMinusMono;
    if (Math.abs(moved) <= this.opts.jumpToleranceMs) return;
    // A step of the wall clock moves the offset by as much the other way: right at once, and
    // measured again for the precision.
    this.current = { ...c, offset: c.offset - moved, wallMinusMono: c.wallMinusMono + moved };
    void this.resync(true);
  }

  private schedule(ms: number): void {
    if (!this.started) return;
    this.scheduler.clearTimeout(this.timer);
    this.timer = this.scheduler.setTimeout(() => void this.resync(false), ms);
  }

  private async burst(replace: boolean): Promise<void> {
    const samples: Sample[] = [];
    const first = this.current === undefined;
    for (let i = 0; i < this.opts.samples; i += 1) {
      // The first burst goes back to back: until it is done the estimate rests on few samples.
      if (i > 0 && !first) await new Promise<void>((resolve) => this.scheduler.setTimeout(resolve, this.opts.spacingMs));
      if (this.rerun) return; // the samples so far predate the reason for the rerun
      const sample = await this.sample();
      if (!sample) continue;
      samples.push(sample);
      // With no estimate yet, each sample improves a provisional one: a room that starts now
      // is followed within a round trip of the join, not after the whole burst. "sync" is
      // emitted for the burst's own estimate only.
      // Provisionally the single best sample: averaging in the slower ones of so few (the
      // first pings queue behind the join's own traffic) would only add their asymmetry.
      if (first) this.adopt(estimateFrom(samples, 1, this.clocks.mono())!, false);
    }
    const next = estimateFrom(samples, this.opts.keep, this.clocks.mono());
    if (!next) return;
    if (!replace && !first && this.errorBound < next.errorBound) return;
    this.adopt(next);
  }

  private adopt(next: ClockEstimate, announce = true): void {
    // Wall and monotonic clocks read together: their difference only moves when the wall clock is stepped.
    this.current = { ...next, wallMinusMono: this.clocks.wall() - this.clocks.mono() };
    if (announce) this.events.emit("sync", next);
  }

  private async sample(): Promise<Sample | undefined> {
    const t0 = this.clocks.mono();
    const wall0 = this.clocks.wall();
    let serverTs: number;
    try {
      serverTs = await this.ping(wall0);
    } catch {
      return undefined; // a lost ping is a missing sample, not an error
    }
    const rtt = this.clocks.mono() - t0;
    if (!Number.isFinite(serverTs) || rtt < 0) return undefined;
    // The server read its clock somewhere in the round trip; the middle is the best guess.
    return { rtt, offset: serverTs - (wall0 + rtt / 2) };
  }
}

/** The estimate from a burst: the mean offset of the `keep` lowest-RTT samples. */
export function estimateFrom(samples: readonly Sample[], keep: number, at: number): ClockEstimate | undefined {
  if (samples.length === 0) return undefined;
  const best = [...samples].sort((a, b) => a.rtt - b.rtt).slice(0, Math.max(1, keep));
  const offset = best.reduce((sum, s) => sum + s.offset, 0) / best.length;
  const rtt = best[0]!.rtt;
  return { offset, errorBound: rtt / 2, rtt, at };
}

/** What onPageVisible needs of `document` (typed here: the SDK compiles without the DOM library too). */
interface VisibilitySource {
  readonly visibilityState: string;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

/** Calls `fn` whenever the page becomes visible again; a no-op outside browsers. */
export function onPageVisible(fn: () => void, doc = (globalThis as { document?: VisibilitySource }).document): () => void {
  if (!doc) return () => {};
  const listener = () => {
    if (doc.visibilityState === "visible") fn();
  };
  doc.addEventListener("visibilitychange", listener);
  return () => doc.removeEventListener("visibilitychange", listener);
}
