/**
 * Lock-step playback: every tick, where the room is (server clock + room clock) against where
 * the player is, and the correction ladder's answer applied to the player. Also the SYNC_REPORT
 * telemetry on its own, slower cadence.
 *
 * The correction mode follows what can change the rate: small rate nudges only when both the
 * player adapter (`canSetRate`) and the source's capabilities (`rate_control`) allow them;
 * otherwise drift is fixed by seeks alone (the ladder's seek-only path).
 */
import type { MediaCapabilities } from "@streamit/protocol";
import type { ServerClock } from "./clock.js";
import { type CorrectionOptions, type CorrectionPhase, Corrector } from "./correction.js";
import { Emitter } from "./emitter.js";
import type { PlayerAdapter } from "./player.js";
import type { RoomClock } from "./room-clock.js";
import { type Clocks, every, type Scheduler, systemClocks, systemScheduler } from "./timers.js";

export interface SyncReport {
  position: number;
  rtt_ms: number;
  buffering: boolean;
}

/** What the server said of a report: its view of the drift (s), and whether it sent a SYNC_CORRECTION. */
export interface ReportAnswer {
  drift?: number;
  corrected?: boolean;
  ignored?: boolean;
}

export interface SyncControllerOptions {
  player: PlayerAdapter;
  clock: ServerClock;
  room: RoomClock;
  /** Sends a SYNC_REPORT; omitted: no telemetry. */
  report?: (report: SyncReport) => Promise<ReportAnswer | undefined>;
  /** Tick interval (ms). Default 200. */
  tickMs?: number;
  /** SYNC_REPORT interval (ms). Default 5000 (the server ignores reports less than 1 s apart). */
  reportMs?: number;
  /** A buffering that lasts this long (ms) is reported at once (its end too), for the room's buffering policy. Default 1000. */
  bufferingReportMs?: number;
  /** A refused play() (autoplay policy) is tried again after this long (ms). Default 2000. */
  playRetryMs?: number;
  correction?: CorrectionOptions;
  clocks?: Clocks;
  scheduler?: Scheduler;
}

export interface SyncStats {
  /** The clock estimate is there: corrections run only then. */
  synced: boolean;
  /** Server time minus wall time (ms). */
  offset: number;
  /** How far off the server clock may be (ms). */
  errorBound: number;
  /** Best round trip of the clock estimate (ms). */
  rtt: number | undefined;
  /** Player minus room (s), positive = ahead; undefined before the first tick. */
  lastDrift: number | undefined;
  /** Corrections so far. */
  seeks: number;
  rateChanges: number;
  phase: CorrectionPhase | "idle";
  /** How far ahead seeks aim (ms). */
  seekLeadMs: number;
  /** The server's drift for the latest report (s). */
  serverDrift: number | undefined;
  reports: number;
  /** The player refused to start (autoplay policy): it needs a user gesture. */
  playBlocked: boolean;
  /** How drift is corrected: `rate` nudges (and seeks when far off), or `seek` only. */
  correctionMode: CorrectionMode;
}

/** `rate`: the player and the source both let the page set the rate; `seek`: one of them does not. */
export type CorrectionMode = "rate" | "seek";

type SyncEvents = {
  /** The player refused play(): show a "click to join" control and call `player.play()` from it. */
  playblocked: (error: unknown) => void;
  tick: (stats: SyncStats) => void;
};

export class SyncController {
  private readonly opts: SyncControllerOptions;
  private readonly clocks: Clocks;
  private readonly scheduler: Scheduler;
  private readonly corrector: Corrector;
  private readonly events = new Emitter<SyncEvents>();
  private ticker: { stop(): void } | undefined;
  private reporter: { stop(): void } | undefined;
  private lastPlayAttempt = Number.NEGATIVE_INFINITY;
  private playBlocked = false;
  private serverDrift: number | undefined;
  private reports = 0;
  private idle = true;
  private transitionAt: number | undefined;
  private transitionTimer: unknown;
  private sourceRateControl = true;
  /** What the last report said of buffering, and the pending report of a buffering that lasts. */
  private reportedBuffering = false;
  private bufferingTimer: unknown;
  private unwatchPlayer: (() => void)[] = [];

  constructor(options: SyncControllerOptions) {
    this.opts = options;
    this.clocks = options.clocks ?? systemClocks;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.corrector = new Corrector(options.correction);
  }

  get player(): PlayerAdapter {
    return this.opts.player;
  }

  on<K extends keyof SyncEvents>(event: K, handler: SyncEvents[K]): () => void {
    return this.events.on(event, handler);
  }

  start(): void {
    if (this.ticker) return;
    this.ticker = every(this.scheduler, this.opts.tickMs ?? 200, () => this.tick());
    if (!this.opts.report) return;
    this.reporter = every(this.scheduler, this.opts.reportMs ?? 5000, () => void this.sendReport());
    // The room's buffering policy pauses for a viewer who buffers (SYNC_REPORT is its signal): a
    // buffering that lasts is reported at once, not at the next report, and so is its end. A
    // short one (a correction's seek) is not: it would pause everyone for nothing.
    const { player } = this.opts;
    this.unwatchPlayer = [
      player.on("bufferingstart", () => {
        this.scheduler.clearTimeout(this.bufferingTimer);
        this.bufferingTimer = this.scheduler.setTimeout(() => {
          if (player.isBuffering() && !this.reportedBuffering) void this.sendReport();
        }, this.opts.bufferingReportMs ?? 1000);
      }),
      player.on("bufferingend", () => {
        this.scheduler.clearTimeout(this.bufferingTimer);
        if (this.reportedBuffering) void this.sendReport();
      }),
    ];
  }

  stop(): void {
    this.ticker?.stop();
    this.reporter?.stop();
    this.scheduler.clearTimeout(this.transitionTimer);
    this.scheduler.clearTimeout(this.bufferingTimer);
    for (const unwatch of this.unwatchPlayer) unwatch();
    this.unwatchPlayer = [];
    this.transitionAt = undefined;
    this.ticker = this.reporter = undefined;
  }

  /**
   * The source's capabilities (SOURCE_CHANGED, or the room detail's): without `rate_control`
   * the rate is left alone and drift is fixed by seeking. Unknown (null): the player decides.
   */
  setCapabilities(capabilities: MediaCapabilities | null | undefined): void {
    this.sourceRateControl = capabilities?.rate_control ?? true;
  }

  /** Rate nudges only where both the player adapter and the source allow them. */
  get correctionMode(): CorrectionMode {
    return this.opts.player.canSetRate && this.sourceRateControl ? "rate" : "seek";
  }

  /** The source changed or the connection came back: act on the next reading, no settle wait. */
  reset(): void {
    this.corrector.reset();
  }

  get stats(): SyncStats {
    const c = this.corrector.snapshot;
    const clock = this.opts.clock;
    return {
      synced: clock.synced,
      offset: clock.offset,
      errorBound: clock.errorBound,
      rtt: clock.rtt,
      lastDrift: c.lastDrift,
      seeks: c.seeks,
      rateChanges: c.rateChanges,
      phase: this.idle ? "idle" : c.phase,
      seekLeadMs: c.seekLeadMs,
      serverDrift: this.serverDrift,
      reports: this.reports,
      playBlocked: this.playBlocked,
      correctionMode: this.correctionMode,
    };
  }

  /** One correction step (the ticker calls it; tests and a visibility change may too). */
  tick(): void {
    const { clock, room, player } = this.opts;
    clock.check();
    // Before the clock estimate, "where the room is" may be off by the page clock's skew: a
    // correction then would be undone by the next.
    const target = clock.synced ? room.at(clock.serverNow()) : undefined;
    this.idle = target === undefined;
    if (!target) return;
    this.armTransition();
    const now = this.clocks.mono();
    const canSetRate = this.correctionMode === "rate";
    const paused = player.isPaused();
    if (target.playing && paused) this.startPlayer(now);
    else if (!target.playing && !paused) player.pause();
    const correction = this.corrector.update({
      intended: target.position,
      actual: player.currentTime(),
      playing: target.playing,
      // A player that has not started yet cannot be judged by its position either.
      buffering: player.isBuffering() || (target.playing && player.isPaused()),
      now,
      roomRate: target.rate,
      canSetRate,
      seekLatencyMs: player.seekLatencyMs?.(),
    });
    if (correction.seekTo !== undefined) player.seek(correction.seekTo);
    if (correction.rate !== undefined && canSetRate) player.setRate(correction.rate);
    this.events.emit("tick", this.stats);
  }

  /**
   * A scheduled transition (effective_at) within the next tick gets a tick of its own at that
   * instant: everyone starts together, not up to a tick interval apart.
   */
  private armTransition(): void {
    const { room, clock } = this.opts;
    const serverNow = clock.serverNow();
    const next = room.nextTransition(serverNow);
    if (next === undefined || next === this.transitionAt || next - serverNow > (this.opts.tickMs ?? 200)) return;
    this.transitionAt = next;
    this.scheduler.clearTimeout(this.transitionTimer);
    this.transitionTimer = this.scheduler.setTimeout(
      () => {
        if (this.ticker) this.tick();
        // +1 ms: a timer is never early, but a rounding of the server clock could be.
      },
      next - serverNow + 1,
    );
  }

  private startPlayer(now: number): void {
    if (now - this.lastPlayAttempt < (this.opts.playRetryMs ?? 2000)) return;
    this.lastPlayAttempt = now;
    const { player, room, clock } = this.opts;
    // Far off (joining mid-film): move first, so it does not start playing the wrong scene. Not
    // again while play() is refused: the ladder places it once it runs.
    const target = room.at(clock.serverNow());
    const threshold = this.opts.correction?.seekThreshold ?? 1;
    if (target && !this.playBlocked && Math.abs(player.currentTime() - target.position) > threshold) {
      player.seek(target.position);
      this.corrector.noteSeek(now);
    }
    let started: void | Promise<void>;
    try {
      started = player.play();
    } catch (err) {
      this.blocked(err);
      return;
    }
    if (started && typeof started.then === "function") {
      started.then(
        () => (this.playBlocked = false),
        (err: unknown) => this.blocked(err),
      );
    }
  }

  private blocked(err: unknown): void {
    this.playBlocked = true;
    this.events.emit("playblocked", err);
  }

  private async sendReport(): Promise<void> {
    const { player, clock, report } = this.opts;
    if (!report || !clock.synced) return;
    const buffering = player.isBuffering();
    this.reportedBuffering = buffering;
    try {
      const answer = await report({
        position: Math.max(0, player.currentTime()),
        rtt_ms: Math.min(60_000, Math.max(0, clock.rtt ?? 0)),
        buffering,
      });
      this.reports += 1;
      if (answer && typeof answer.drift === "number") this.serverDrift = answer.drift;
    } catch {
      // Telemetry: a lost report is replaced by the next one.
    }
  }
}
