/**
 * Scheduled starts on this instance. A PLAY (or a SEEK while playing) takes effect a little in
 * the future, so that every viewer starts together: clients that said they understand it
 * (`schedule=1`) get the PLAYBACK_STATE at once, with `effective_at`, and hold it themselves.
 * Every other client (the original web client applies a state on arrival) gets its copy at the
 * effective time, so it is not off by the lead. A newer state cancels a copy still held.
 */
import type { ServerMessage } from "@streamit/protocol";
import { asSent, isScheduled, type PlaybackSnapshot } from "../playback/snapshot.js";
import type { LiveRoom } from "./live-room.js";

/** Sends to the room's connections here, but those in `except`; logged under `logKey`. */
type Send = (message: ServerMessage, except?: readonly string[], logKey?: string) => Promise<void>;

export class HeldStarts {
  private readonly held = new Map<LiveRoom, NodeJS.Timeout>();

  send(live: LiveRoom, playback: PlaybackSnapshot, send: Send, logKey: string): Promise<void> {
    this.cancel(live);
    const now = Date.now();
    const message = { type: "PLAYBACK_STATE", ...asSent(playback, now) } as const;
    const members = [...live.members.values()];
    const later = members.filter((m) => !m.connection.scheduledStarts).map((m) => m.connection.id);
    if (!isScheduled(playback, now) || later.length === 0) return send(message, undefined, logKey);
    const early = members.filter((m) => m.connection.scheduledStarts).map((m) => m.connection.id);
    const sent = send(message, later, logKey);
    const timer = setTimeout(() => {
      this.held.delete(live);
      // In force now: the copy says so (no effective_at). Joiners since then get it too. Asked
      // at the effective time itself: a timer may fire a millisecond before Date.now() gets there.
      if (!live.closed) void send({ type: "PLAYBACK_STATE", ...asSent(playback, playback.server_time) }, early);
    }, playback.server_time - now);
    timer.unref();
    this.held.set(live, timer);
    return sent;
  }

  /** Drops the room's held copy (a newer state supersedes it, or the room is gone here). */
  cancel(live: LiveRoom): void {
    clearTimeout(this.held.get(live));
    this.held.delete(live);
  }
}
