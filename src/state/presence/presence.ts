/**
 * Presence: who is connected to which room, per user across tabs (and, in cluster mode, across
 * instances). REST reads it through PresenceReader (../presence.ts); the realtime hub writes it.
 */
import type { PresenceReader } from "../presence.js";

/** Called when a user's last connection disappeared with a dead instance. */
export type StaleLeaveHandler = (roomId: string, userId: string) => Promise<void>;
/** Called after this instance re-registered presence its store had lost (Redis restart or flush). */
export type RestoredHandler = () => Promise<void>;

export interface Presence extends PresenceReader {
  /** Starts heartbeats, dead-peer detection and self-repair (cluster); a no-op in memory. */
  start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void>;
  /** Stops heartbeating. With `forget`, removes this instance's own presence at once (cluster). */
  close(options?: { forget?: boolean }): Promise<void>;
  /** Adds a connection; `firstForUser` is true when the user had none in the room. */
  connect(roomId: string, hostId: string, userId: string, connectionId: string): Promise<{ firstForUser: boolean }>;
  /** Removes a connection; `lastForUser` is true when it was the user's last in the room. */
  disconnect(roomId: string, userId: string, connectionId: string): Promise<{ lastForUser: boolean }>;
  onlineUsers(roomId: string): Promise<Set<string>>;
  /** Online users with the epoch ms their presence began (first tab in; used for host succession). */
  onlineSince(roomId: string): Promise<Map<string, number>>;
  /** The room has a new host (succession, reclaim): presence reports count them as the host. */
  setHost(roomId: string, hostId: string): Promise<void>;
  /** Forgets the room's presence (expired or deleted). */
  clearRoom(roomId: string): Promise<void>;
}
