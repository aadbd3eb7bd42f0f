/**
 * The paced roster run of a room on this instance. Each run re-reads the roster (database and
 * presence) and reconciles the in-memory one with it (delta-presence clients get what that
 * changed as ROSTER_UPDATE), then sends ROOM_PARTICIPANTS to the connections without delta
 * presence, with the USER_LEFT queued for them before it and the USER_JOINED after it, as in the
 * original order. Requests arriving while a run is under way are coalesced into the next, and
 * the last one is exact. A roster is O(N) and goes to N members, so in big rooms runs are paced:
 * a join storm then costs a bounded number of them instead of one per join.
 */
import type { DB } from "../db.js";
import { approvedParticipants } from "../rooms/participants.js";
import type { Presence } from "../state/presence/presence.js";
import type { RoomFanout } from "./fanout.js";
import { hasLegacyMembers, type LiveRoom, rosterAudience } from "./live-room.js";

/**
 * A roster run costs the roster's entries (every approved participant, online or not) times its
 * recipients (the room's connections here). A room whose cost is at most `smallRoom`² (50
 * members, all present) gets every run at once; a costlier one is paced by the square root of
 * its cost, `msPerMember` each, at most `maxPauseMs` apart.
 */
export const ROSTER_PACING = { smallRoom: 50, msPerMember: 5, maxPauseMs: 5000 } as const;

/**
 * How long a room's next roster run waits, given its recipients here, the entries of its
 * roster and the time since the last one.
 */
export function rosterPause(recipients: number, entries: number, sinceLastMs: number): number {
  const weight = Math.sqrt(recipients * Math.max(entries, recipients));
  if (weight <= ROSTER_PACING.smallRoom) return 0;
  const interval = Math.min(ROSTER_PACING.maxPauseMs, weight * ROSTER_PACING.msPerMember);
  return Math.max(0, interval - sinceLastMs);
}

export class RosterPacer {
  constructor(
    private readonly db: DB,
    private readonly presence: Pick<Presence, "onlineUsers">,
    private readonly fanout: RoomFanout,
    /** Called when a run ends: the room may be idle now. */
    private readonly onIdle: (live: LiveRoom) => void,
  ) {}

  /** Asks for a roster run; settles once one that began after this request has sent its roster. */
  refresh(live: LiveRoom): Promise<void> {
    const queue = live.rosterRun;
    const sent = new Promise<void>((resolve) => queue.waiters.push(resolve));
    queue.dirty = true;
    if (!queue.running) {
      queue.running = true;
      void this.run(live);
    }
    return sent;
  }

  private async run(live: LiveRoom): Promise<void> {
    const queue = live.rosterRun;
    try {
      while (queue.dirty && !live.closed) {
        const pause = rosterPause(live.members.size, live.roster.size, Date.now() - queue.lastSentAt);
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        queue.dirty = false;
        const waiters = queue.waiters.splice(0);
        const left = queue.left.splice(0);
        const joined = queue.joined.splice(0);
        try {
          await this.reconcile(live);
          const legacy = rosterAudience.legacy(live);
          for (const { message, seq } of left) void this.fanout.send(live, message, legacy, undefined, seq);
          if (hasLegacyMembers(live)) void this.fanout.send(live, live.roster.legacyRoster(live), legacy);
          for (const { message, except, seq } of joined) {
            void this.fanout.send(live, message, () => [...legacy(), ...except], undefined, seq);
          }
          queue.lastSentAt = Date.now();
        } catch {
          // The database hiccuped: the next join or leave starts a fresh run.
        } finally {
          for (const resolve of waiters) resolve();
        }
      }
    } finally {
      queue.running = false;
      for (const resolve of queue.waiters.splice(0)) resolve();
      this.onIdle(live);
    }
  }

  /**
   * Re-reads the roster and applies the read, telling delta clients what it changed; skipped
   * when the roster changed during the read (that change asked for the run that follows).
   */
  private async reconcile(live: LiveRoom): Promise<void> {
    const version = live.roster.version;
    const [rows, online] = await Promise.all([approvedParticipants(this.db, live.id), this.presence.onlineUsers(live.id)]);
    if (live.roster.version !== version || !live.roster.loaded) return;
    const change = live.roster.reconcile(rows, online, live);
    if (change.members.length === 0 && change.removed.length === 0) return;
    void this.fanout.send(live, { type: "ROSTER_UPDATE", ...change, online: live.roster.onlineCount }, rosterAudience.delta(live));
  }
}
