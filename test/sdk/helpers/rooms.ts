/**
 * SDK rooms in tests: opened through `open()`, closed after each test whatever its outcome, and
 * awaited by event (`next`) rather than by time.
 */
import { afterEach } from "vitest";
import { type ConnectOptions, connect, type Room, type RoomEvents } from "../../../packages/client/src/index.js";

const opened = new Set<Room>();

afterEach(() => {
  for (const room of opened) room.close();
  opened.clear();
});

/** A room connection, closed after the test. */
export function open(options: ConnectOptions): Room {
  const room = connect(options);
  opened.add(room);
  return room;
}

type Args<K extends keyof RoomEvents> = Parameters<RoomEvents[K]>;

/**
 * Records a room's events from now on; `next(event, match?)` resolves with the first unread one
 * (recorded before or after the call) that matches, or rejects after `timeoutMs`.
 */
export function recorder(room: Room) {
  const seen: { event: string; args: unknown[]; read: boolean }[] = [];
  const waiters = new Set<() => void>();
  const events = [
    "status",
    "open",
    "reconnecting",
    "closed",
    "playback",
    "CHAT_HISTORY",
    "CHAT_MESSAGE",
    "PLAYBACK_STATE",
    "ROOM_PARTICIPANTS",
    "SOURCE_CHANGED",
    "SESSION",
    "RESUMED",
    "REAUTHED",
    "USER_LEFT",
    "USER_JOINED",
    "CLOSE",
    "party",
    "PARTY_STARTS_AT",
    "QUEUE_UPDATED",
    "VOTE_SKIP_UPDATED",
    "ROOM_PERSISTENCE",
    "BUFFERING_POLICY",
    "roster",
  ] as const;
  for (const event of events) {
    (room.on as (e: string, h: (...args: unknown[]) => void) => void)(event, (...args) => {
      seen.push({ event, args, read: false });
      for (const wake of [...waiters]) wake();
    });
  }
  return {
    seen,
    count: (event: string) => seen.filter((s) => s.event === event).length,
    next<K extends keyof RoomEvents>(event: K, match: (...args: Args<K>) => boolean = () => true, timeoutMs = 8000): Promise<Args<K>> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = seen.find((s) => !s.read && s.event === event && match(...(s.args as Args<K>)));
          if (!hit) return false;
          hit.read = true;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit.args as Args<K>);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${String(event)} within ${timeoutMs} ms; saw ${seen.map((s) => s.event).join(", ")}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}
