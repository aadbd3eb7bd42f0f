/**
 * Mutes: the realtime copy of who may not chat in a room (the durable ones live in PostgreSQL
 * and are copied in when a room loads). The chat gate refuses a muted user's messages.
 */

export interface Mutes {
  /**
   * Mutes a user in the room. A timed mute passes `untilMs` (epoch ms): it stops being in force
   * at that moment, with no timer and no unmute. A new mute replaces the previous one.
   */
  mute(roomId: string, userId: string, untilMs?: number | null): Promise<void>;
  /** Lifts the user's mute, if any. */
  unmute(roomId: string, userId: string): Promise<void>;
  /** True while a mute is in force. */
  isMuted(roomId: string, userId: string): Promise<boolean>;
  /** Forgets the room's mutes (expired or deleted). */
  clearRoom(roomId: string): Promise<void>;
}
