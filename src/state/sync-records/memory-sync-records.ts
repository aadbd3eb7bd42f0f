/** In-process sync records. */
import type { RoomSyncRecords, SyncRecord, SyncRecords } from "./sync-records.js";

export class MemorySyncRecords implements SyncRecords {
  private readonly rooms = new Map<string, RoomSyncRecords & { expiresAt: number }>();

  async record(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number) {
    const now = Date.now();
    let room = this.rooms.get(roomId);
    if (!room || room.expiresAt <= now) {
      if (this.rooms.size > 1000) for (const [id, r] of this.rooms) if (r.expiresAt <= now) this.rooms.delete(id);
      room = { records: new Map(), corrections: 0, expiresAt: 0 };
      this.rooms.set(roomId, room);
    }
    room.records.set(userId, { ...record });
    if (corrected) room.corrections += 1;
    room.expiresAt = now + ttlMs;
  }

  async read(roomId: string): Promise<RoomSyncRecords> {
    const room = this.rooms.get(roomId);
    if (!room || room.expiresAt <= Date.now()) return { records: new Map(), corrections: 0 };
    return { records: new Map([...room.records].map(([id, r]) => [id, { ...r }])), corrections: room.corrections };
  }

  async clearRoom(roomId: string) {
    this.rooms.delete(roomId);
  }
}
