/**
 * Sync records: each member's latest SYNC_REPORT per room and the room's correction count, for
 * the room's sync summary. Shared by every instance (the host's sees all viewers).
 */

/** One member's latest SYNC_REPORT in a room, as kept for the room's sync summary. */
export interface SyncRecord {
  /** Signed seconds against the room's position when the report was taken (negative: behind). */
  drift: number;
  rttMs: number;
  buffering: boolean;
  /** When it was recorded (epoch ms). */
  at: number;
  displayName: string;
}

export interface RoomSyncRecords {
  /** user id → that user's latest report. */
  records: Map<string, SyncRecord>;
  /** Corrections sent in answer to reports since the room's records began. */
  corrections: number;
}

export interface SyncRecords {
  /**
   * Keeps a user's latest sync report in a room (replacing the previous one) and counts a
   * correction when `corrected`. The room's reports and count are forgotten `ttlMs` after its
   * last report, or by clearRoom.
   */
  record(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number): Promise<void>;
  /** The room's latest report per user and its correction count (empty when none). */
  read(roomId: string): Promise<RoomSyncRecords>;
  /** Forgets the room's reports (expired or deleted). */
  clearRoom(roomId: string): Promise<void>;
}
