/**
 * ROOM_PARTICIPANTS to this instance's members, coalesced and paced. Requests arriving while one
 * is being built are coalesced into the next, and the last one is exact. Queued USER_LEFT go
 * before it and USER_JOINED after it, as in the original order. A roster is O(N) and goes to N
 * members, so in big rooms broadcasts are paced: a join storm then costs a bounded number of
 * roster broadcasts instead of one per join.
 */
import type { DB } from "../db.js";
import type { Presence } from "../state/presence/presence.js";
import type { RoomFanout } from "./fanout.js";
import type { LiveRoom } from "./live-room.js";
import { buildRoster } from "./roster.js";

/**
 * A roster broadcast costs its entries (every approved participant, online or not) times its
 * recipients (the room's connections here). A room whose cost is at most `smallRoom`² (50
 * members, all present) gets every roster at once; a costlier one is paced by the square root of
 * its cost, `msPerMember` each, at most `maxPauseMs` apart.
 */
export const ROSTER_PACING = { smallRoom: 50, msPerMember: 5, maxPauseMs: 5000 } as const;

/**
 * How long a room's next roster broadcast waits, given its recipients here, the entries of its
 * last roster (0 before the first) and the time since the last one.
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
    private readonly presence: Presence,
    private readonly fanout: RoomFanout,
    /** Called when a run ends: the room may be idle now. */
    private readonly onIdle: (live: LiveRoom) => void,
  ) {}

  /** Asks for a fresh roster; settles once one built after this request has been sent. */
  refresh(live: LiveRoom): Promise<void> {
    const sent = new Promise<void>((resolve) => live.roster.waiters.push(resolve));
    live.roster.dirty = true;
    if (!live.roster.running) {
      live.roster.running = true;
      void this.run(live);
    }
    return sent;
  }

  private async run(live: LiveRoom): Promise<void> {
    const queue = live.roster;
    try {
      while (queue.dirty && !live.closed) {
        const pause = rosterPause(live.members.size, live.rosterRows?.rows.length ?? 0, Date.now() - queue.lastSentAt);
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        queue.dirty = false;
        const waiters = queue.waiters.splice(0);
        const left = queue.left.splice(0);
        const joined = queue.joined.splice(0);
        try {
          const roster = await buildRoster(this.db, this.presence, live, undefined, true);
          for (const { message, seq } of left) void this.fanout.send(live, message, undefined, undefined, seq);
          void this.fanout.send(live, roster);
          for (const { message, except, seq } of joined) void this.fanout.send(live, message, except, undefined, seq);
          queue.lastSentAt = Date.now();
        } catch {
          // The database hiccuped: the next join or leave sends a fresh roster.
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
}
