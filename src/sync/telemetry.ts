/**
 * Sync-quality telemetry. Clients send `SYNC_REPORT {position, rtt_ms, buffering}` every few
 * seconds. The instance that receives a report measures it against the room's playback state
 * (signed drift; a SYNC_CORRECTION when it is off while playing), keeps it as the user's latest
 * report in the realtime state (shared, so the host's instance sees viewers connected to any
 * instance) and counts it in Prometheus. Every SYNC_SUMMARY_SECONDS, each instance holding a
 * host connection of a room sums the room's fresh reports up into a ROOM_SYNC for the host and
 * into the room's gauges.
 */

import type { ServerMessageOf } from "@streamit/protocol";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { currentPosition, isScheduled, type PlaybackSnapshot, snapshotAt } from "../playback/snapshot.js";
import type { RoomHooks, RoomView, Sender } from "../protocol/feature.js";
import { type CommandResult, ok } from "../protocol/results.js";
import type { Presence } from "../state/presence/presence.js";
import type { SyncRecord, SyncRecords } from "../state/sync-records/sync-records.js";
import { type StartLeadOptions, startLeadMs } from "./start-lead.js";

export const SYNC = {
  /** Reports of one connection closer together than this are acked but not recorded. */
  minReportIntervalMs: 1000,
  /** Summaries count only reports younger than this (from users still online). */
  freshMs: 15_000,
  /** A room's reports and correction count are forgotten this long after its last report. */
  recordTtlMs: 10 * 60 * 1000,
  /** ROOM_SYNC lists at most this many members, the furthest off first (the figures count all). */
  maxListed: 100,
} as const;

export type RoomSync = ServerMessageOf<"ROOM_SYNC">;
interface SyncReport {
  position: number;
  rtt_ms: number;
  buffering: boolean;
}

/**
 * Who receives a room's ROOM_SYNC: the host, and co-hosts (never guests) when the room lets
 * co-hosts moderate. By this instance's copy of the roles: display, not permission.
 */
export const canSeeSync = (room: RoomView, member: Sender): boolean =>
  member.isHost || (room.roles.cohosts_moderate && !member.user.is_guest && room.roles.cohosts.includes(member.user.id));

export interface SyncLogger {
  warn(details: object, message: string): void;
}

/**
 * Signed drift of a report, in seconds: the reported position minus the room's position when the
 * report was taken, about half a round trip ago. Negative means behind.
 */
export function reportDrift(playback: PlaybackSnapshot, position: number, rttMs: number, now: number): number {
  return Math.round((position - currentPosition(playback, now - rttMs / 2)) * 1000) / 1000;
}

/** Nearest-rank percentile of ascending values; 0 when there are none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The ROOM_SYNC for a room's fresh reports of online users; undefined when there are none. */
export function summarizeSync(
  records: ReadonlyMap<string, SyncRecord>,
  corrections: number,
  online: ReadonlySet<string>,
  now: number,
  thresholdSeconds: number,
): RoomSync | undefined {
  const fresh = [...records].filter(([userId, r]) => online.has(userId) && now - r.at <= SYNC.freshMs);
  if (fresh.length === 0) return undefined;
  const magnitudes = fresh.map(([, r]) => Math.abs(r.drift)).sort((a, b) => a - b);
  const viewers = fresh
    .sort(([, a], [, b]) => Math.abs(b.drift) - Math.abs(a.drift))
    .slice(0, SYNC.maxListed)
    .map(([userId, r]) => ({
      user_id: userId,
      display_name: r.displayName,
      drift: r.drift,
      rtt_ms: r.rttMs,
      buffering: r.buffering,
      behind: r.drift < -thresholdSeconds,
    }));
  return {
    type: "ROOM_SYNC",
    reporting: fresh.length,
    drift_p50: percentile(magnitudes, 0.5),
    drift_p95: percentile(magnitudes, 0.95),
    corrections,
    buffering: fresh.filter(([, r]) => r.buffering).length,
    viewers,
    server_time: now,
  };
}

/**
 * The Prometheus side. Per-room series carry the room id (not its code, which lets people in)
 * and exist only for rooms this instance sums up: a bounded set, removed when the room leaves.
 */
class SyncMetrics {
  readonly drift: Histogram;
  readonly corrections: Counter;
  private readonly roomDrift: Gauge<"room" | "quantile">;
  private readonly roomBuffering: Gauge<"room">;

  constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.drift = new Histogram({
      name: "streamit_sync_drift_seconds",
      help: "Absolute playback drift of each recorded SYNC_REPORT",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    this.corrections = new Counter({
      name: "streamit_sync_corrections_total",
      help: "SYNC_CORRECTIONs sent in answer to SYNC_REPORTs",
      registers,
    });
    this.roomDrift = new Gauge({
      name: "streamit_sync_room_drift_seconds",
      help: "Absolute drift percentiles (quantile 0.5, 0.95) over a room's fresh sync reports",
      labelNames: ["room", "quantile"],
      registers,
    });
    this.roomBuffering = new Gauge({
      name: "streamit_sync_room_buffering_viewers",
      help: "Members of a room whose latest fresh sync report says buffering",
      labelNames: ["room"],
      registers,
    });
  }

  setRoom(roomId: string, summary: RoomSync): void {
    this.roomDrift.set({ room: roomId, quantile: "0.5" }, summary.drift_p50);
    this.roomDrift.set({ room: roomId, quantile: "0.95" }, summary.drift_p95);
    this.roomBuffering.set({ room: roomId }, summary.buffering);
  }

  removeRoom(roomId: string): void {
    this.roomDrift.remove({ room: roomId, quantile: "0.5" });
    this.roomDrift.remove({ room: roomId, quantile: "0.95" });
    this.roomBuffering.remove({ room: roomId });
  }
}

export interface SyncTelemetryOptions {
  driftThresholdSeconds: number;
  summaryIntervalMs: number;
  /** The app's registry; metrics are kept but not exported without one. */
  registry?: Registry | undefined;
  logger: SyncLogger;
  /** The lead of scheduled starts (see start-lead.ts). */
  startLead: StartLeadOptions;
}

export class SyncTelemetry implements RoomHooks {
  private readonly lastRecorded = new WeakMap<Sender, number>();
  /** One summary timer per room live on this instance. */
  private readonly timers = new Map<RoomView, NodeJS.Timeout>();
  private readonly metrics: SyncMetrics;
  private warnedAt = 0;
  /** Each room's 95th-percentile reported round trip (ms), from its latest summary. */
  private readonly roomRtt = new Map<string, number>();

  constructor(
    private readonly state: { presence: Presence; syncRecords: SyncRecords },
    private readonly options: SyncTelemetryOptions,
  ) {
    this.metrics = new SyncMetrics(options.registry);
  }

  /** Handles one SYNC_REPORT: acks `{drift, corrected}`, or `{ignored: true}` when too soon. */
  async report(live: RoomView, member: Sender, message: SyncReport): Promise<CommandResult> {
    const now = Date.now();
    // A client reporting faster than this cannot weigh more in the figures.
    if (now - (this.lastRecorded.get(member) ?? 0) < SYNC.minReportIntervalMs) return ok({ ignored: true });
    this.lastRecorded.set(member, now);
    const drift = reportDrift(live.playback, message.position, message.rtt_ms, now);
    // A buffering player is catching up already; a paused room has nothing to chase.
    // Not during a scheduled transition's lead: the players rightly still follow the state before it.
    const corrected =
      live.playback.is_playing &&
      !message.buffering &&
      !isScheduled(live.playback, now) &&
      Math.abs(drift) > this.options.driftThresholdSeconds;
    this.metrics.drift.observe(Math.abs(drift));
    if (corrected) {
      member.connection.send({ type: "SYNC_CORRECTION", ...snapshotAt(live.playback, now) });
      this.metrics.corrections.inc();
    }
    const record = { drift, rttMs: message.rtt_ms, buffering: message.buffering, at: now, displayName: member.user.display_name };
    await this.state.syncRecords.record(live.id, member.user.id, record, corrected, SYNC.recordTtlMs);
    return ok({ drift, corrected });
  }

  /** Starts the room's summaries on this instance (the room loaded here). */
  roomOpened(live: RoomView): void {
    if (this.timers.has(live)) return;
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.summarize(live)
        .catch((err: unknown) => this.warn(err, live))
        .finally(() => {
          running = false;
        });
    }, this.options.summaryIntervalMs);
    timer.unref();
    this.timers.set(live, timer);
  }

  /** Stops the room's summaries and removes its series (the room left this instance). */
  roomClosed(live: RoomView): void {
    clearInterval(this.timers.get(live));
    this.timers.delete(live);
    this.roomRtt.delete(live.id);
    this.metrics.removeRoom(live.id);
  }

  close(): void {
    for (const live of [...this.timers.keys()]) this.roomClosed(live);
  }

  /**
   * Sends the room's ROOM_SYNC to the connections here that may see it and updates its gauges.
   * Nothing (and no series) when none of them is here or no fresh report exists.
   */
  async summarize(live: RoomView): Promise<RoomSync | undefined> {
    const audience = [...live.members.values()].filter((m) => canSeeSync(live, m));
    if (live.closed || audience.length === 0) {
      this.metrics.removeRoom(live.id);
      return undefined;
    }
    const now = Date.now();
    const [{ records, corrections }, online] = await Promise.all([
      this.state.syncRecords.read(live.id),
      this.state.presence.onlineUsers(live.id),
    ]);
    if (!this.timers.has(live)) return undefined; // dropped meanwhile: leave no series behind
    const rtts = [...records.values()].map((r) => r.rttMs).sort((a, b) => a - b);
    if (rtts.length > 0) this.roomRtt.set(live.id, percentile(rtts, 0.95));
    const summary = summarizeSync(records, corrections, online, now, this.options.driftThresholdSeconds);
    if (!summary) {
      this.metrics.removeRoom(live.id);
      return undefined;
    }
    this.metrics.setRoom(live.id, summary);
    for (const member of audience) if (live.members.has(member.connection.id)) member.connection.send(summary);
    return summary;
  }

  /**
   * How far ahead this room's starts are scheduled: by the round trips its viewers reported
   * (all instances' reports, read by the summaries of the instance the host is on), the floor
   * before any report.
   */
  startLeadMs(roomId: string): number {
    return startLeadMs(this.roomRtt.get(roomId), this.options.startLead);
  }

  /** Telemetry is best effort (the next round retries): one warning a minute at most. */
  private warn(err: unknown, live: RoomView): void {
    const now = Date.now();
    if (now - this.warnedAt < 60_000) return;
    this.warnedAt = now;
    this.options.logger.warn({ err, room: live.code }, "sync summary failed");
  }
}
