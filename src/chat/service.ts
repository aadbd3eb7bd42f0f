/** Chat persistence: history for joiners, inserts, and retention trimmed in batches. */
import { sql } from "kysely";
import type { DB } from "../db.js";

export const CHAT_HISTORY_SIZE = 50;
export const CHAT_RETENTION = 500;
/** Retention is enforced every this many inserts per room, not on every message. */
export const CHAT_TRIM_EVERY = 50;

export interface ChatEntry {
  id: string;
  user: string;
  user_id: string;
  message: string;
  created_at: string;
}

export class ChatService {
  private readonly insertsSinceTrim = new Map<string, number>();

  constructor(private readonly db: DB) {}

  /** The newest messages of a room, oldest first. */
  async history(roomId: string, limit = CHAT_HISTORY_SIZE): Promise<ChatEntry[]> {
    const rows = await this.db
      .selectFrom("chat_messages as m")
      .innerJoin("users as u", "u.id", "m.user_id")
      .select(["m.id", "u.display_name", "m.user_id", "m.message", "m.created_at"])
      .where("m.room_id", "=", roomId)
      .orderBy("m.created_at", "desc")
      .orderBy("m.id", "desc")
      .limit(limit)
      .execute();
    return rows.reverse().map((r) => ({
      id: r.id,
      user: r.display_name,
      user_id: r.user_id,
      message: r.message,
      created_at: r.created_at.toISOString(),
    }));
  }

  async post(roomId: string, user: { id: string; display_name: string }, message: string): Promise<ChatEntry> {
    const row = await this.db
      .insertInto("chat_messages")
      .values({ room_id: roomId, user_id: user.id, message })
      .returning(["id", "created_at"])
      .executeTakeFirstOrThrow();
    const count = (this.insertsSinceTrim.get(roomId) ?? 0) + 1;
    if (count >= CHAT_TRIM_EVERY) {
      this.insertsSinceTrim.delete(roomId);
      await this.trim(roomId);
    } else {
      this.insertsSinceTrim.set(roomId, count);
    }
    return { id: row.id, user: user.display_name, user_id: user.id, message, created_at: row.created_at.toISOString() };
  }

  /** Keeps the newest CHAT_RETENTION messages of a room. */
  async trim(roomId: string): Promise<void> {
    await this.db
      .deleteFrom("chat_messages")
      .where("room_id", "=", roomId)
      .where(
        "created_at",
        "<",
        sql<Date>`(SELECT created_at FROM chat_messages WHERE room_id = ${roomId} ORDER BY created_at DESC OFFSET ${CHAT_RETENTION - 1} LIMIT 1)`,
      )
      .execute();
  }

  forgetRoom(roomId: string): void {
    this.insertsSinceTrim.delete(roomId);
  }
}
