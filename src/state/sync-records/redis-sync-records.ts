/** Sync records in Redis: one hash per room, a compact JSON record per user plus the count. */
import type { RedisClient } from "../../redis.js";
import { RECORD_SYNC, SYNC_CORRECTIONS_FIELD } from "../lua/sync-records.js";
import { RealtimeKeys } from "../redis-keys.js";
import type { RoomSyncRecords, SyncRecord, SyncRecords } from "./sync-records.js";

/** A sync record as stored: compact JSON, one hash field per user. */
function encodeSync(r: SyncRecord): string {
  return JSON.stringify({ d: r.drift, r: r.rttMs, b: r.buffering ? 1 : 0, t: r.at, n: r.displayName });
}

function decodeSync(text: string): SyncRecord | undefined {
  try {
    const v = JSON.parse(text) as { d?: unknown; r?: unknown; b?: unknown; t?: unknown; n?: unknown };
    if (typeof v.d !== "number" || typeof v.r !== "number" || typeof v.t !== "number" || typeof v.n !== "string") return undefined;
    return { drift: v.d, rttMs: v.r, buffering: v.b === 1, at: v.t, displayName: v.n };
  } catch {
    return undefined;
  }
}

export class RedisSyncRecords implements SyncRecords {
  private readonly keys: RealtimeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RealtimeKeys(prefix);
  }

  async record(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number) {
    await this.redis.eval(RECORD_SYNC, {
      keys: [this.keys.roomSync(roomId)],
      arguments: [userId, encodeSync(record), corrected ? "1" : "0", String(Math.max(1, Math.round(ttlMs)))],
    });
  }

  async read(roomId: string): Promise<RoomSyncRecords> {
    const fields = await this.redis.hGetAll(this.keys.roomSync(roomId));
    const records = new Map<string, SyncRecord>();
    let corrections = 0;
    for (const [field, value] of Object.entries(fields)) {
      if (field === SYNC_CORRECTIONS_FIELD) corrections = Number(value) || 0;
      else {
        const record = decodeSync(value);
        if (record) records.set(field, record);
      }
    }
    return { records, corrections };
  }

  async clearRoom(roomId: string) {
    await this.redis.del(this.keys.roomSync(roomId));
  }
}
