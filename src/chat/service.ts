/** Chat persistence: history for joiners, inserts, and retention trimmed in batches. */
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { v5 as uuidv5 } from "uuid";
import type { DB } from "../db.js";

/** The namespace of chat message ids derived from a client's command_id (UUIDv5). */
const CHAT_ID_NAMESPACE = "0f4e4a8e-58a1-4c55-9a3c-2b8f4d1f7c21";

/**
 * The id a chat message sent with `commandId` gets: the same for every resend of it, so that
 * the database itself refuses to store it twice, even when an earlier try was committed but
 * its answer was lost.
 */
export const chatMessageId = (roomId: string, userId: string, commandId: string): string =>
  uuidv5(`${roomId}/${userId}/${commandId}`, CHAT_ID_NAMESPACE);

export const CHAT_HISTORY_SIZE = 50;
export const CHAT_RETENTION = 500;
/** Retention is enforced every this many inserts per room, not on every message. */
export const CHAT_TRIM_EVERY = 50;

/** At most this many messages per INSERT. */
const CHAT_BATCH_MAX = 200;
/** Under load (an insert ended less than CHAT_BUSY_MS ago) the next one waits CHAT_LINGER_MS. */
const CHAT_BUSY_MS = 20;
const CHAT_LINGER_MS = 8;

interface PendingMessage {
  id: string;
  roomId: string;
  user: { id: string; display_name: string };
  message: string;
  resolve(entry: PostedChat): void;
  reject(err: unknown): void;
}

export interface ChatEntry {
  id: string;
  user: string;
  user_id: string;
  message: string;
  created_at: string;
}

/** What post resolves with: `stored` when a message with this id was already in the room. */
export type PostedChat = ChatEntry & { stored?: true };

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
      .orderBy("m.seq", "desc")
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

  /**
   * Persists a message; resolves once it is committed (only then may it be acknowledged).
   * Group commit: messages arriving while an insert is in flight (or within a few ms of the
   * last one, under load) go together in the next one, so a busy process writes one multi-row
   * INSERT instead of one per message, and a quiet one waits for nothing. Retention trims run
   * after the insert, off the sender's path. With an `id` (see chatMessageId) that is already
   * stored in this room for this user, nothing is written: it resolves with the stored message,
   * marked `stored`.
   */
  post(roomId: string, user: { id: string; display_name: string }, message: string, id: string = randomUUID()): Promise<PostedChat> {
    return new Promise((resolve, reject) => {
      this.pending.push({ id, roomId, user, message, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      // Busy (the last insert ended moments ago): linger a few ms so that messages arriving one
      // per millisecond share an insert; quiet: write at once.
      if (Date.now() - this.lastFlushEnded < CHAT_BUSY_MS) setTimeout(() => void this.flush(), CHAT_LINGER_MS);
      else void this.flush();
    });
  }

  /** Resolves once every message handed to `post` so far is committed or failed (shutdown). */
  async drain(): Promise<void> {
    while (this.flushing) await new Promise((resolve) => setTimeout(resolve, CHAT_LINGER_MS));
  }

  private readonly pending: PendingMessage[] = [];
  private flushing = false;
  private lastFlushEnded = 0;

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, CHAT_BATCH_MAX);
        try {
          await this.insert(batch);
        } catch (err) {
          if (isRowError(err)) {
            // One bad row (its room just deleted, say) must not fail the others: retry one by one.
            for (const item of batch) await this.insert([item]).catch((error: unknown) => item.reject(error));
          } else {
            // The database is away (or timed out): every message of the batch gets its error now.
            for (const item of batch) item.reject(err);
          }
        }
      }
    } finally {
      this.flushing = false;
      this.lastFlushEnded = Date.now();
    }
  }

  private async insert(batch: PendingMessage[]): Promise<void> {
    const rows = await this.db
      .insertInto("chat_messages")
      .values(batch.map((m) => ({ id: m.id, room_id: m.roomId, user_id: m.user.id, message: m.message })))
      .onConflict((oc) => oc.column("id").doNothing())
      .returning(["id", "created_at"])
      .execute();
    const createdAt = new Map(rows.map((r) => [r.id, r.created_at]));
    const fresh = batch.filter((m) => createdAt.has(m.id));
    const stored = batch.filter((m) => !createdAt.has(m.id));
    for (const m of fresh) {
      m.resolve({
        id: m.id,
        user: m.user.display_name,
        user_id: m.user.id,
        message: m.message,
        created_at: createdAt.get(m.id)!.toISOString(),
      });
      const count = (this.insertsSinceTrim.get(m.roomId) ?? 0) + 1;
      if (count >= CHAT_TRIM_EVERY) {
        this.insertsSinceTrim.delete(m.roomId);
        this.trim(m.roomId).catch(() => {}); // retried by the next 50 messages
      } else {
        this.insertsSinceTrim.set(m.roomId, count);
      }
    }
    // After the committed ones are answered: a failed read must not fail them too.
    if (stored.length > 0)
      await this.resolveStored(stored).catch((err: unknown) => {
        for (const m of stored) m.reject(err);
      });
  }

  /** Messages whose id was already stored: the stored one, if it is this sender's in this room. */
  private async resolveStored(batch: PendingMessage[]): Promise<void> {
    const rows = await this.db
      .selectFrom("chat_messages")
      .select(["id", "room_id", "user_id", "message", "created_at"])
      .where(
        "id",
        "in",
        batch.map((m) => m.id),
      )
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const m of batch) {
      const row = byId.get(m.id);
      if (row && row.room_id === m.roomId && row.user_id === m.user.id) {
        m.resolve({
          id: row.id,
          user: m.user.display_name,
          user_id: row.user_id,
          message: row.message,
          created_at: row.created_at.toISOString(),
          stored: true,
        });
      } else {
        // Trimmed meanwhile, or (never, short of a UUID collision) someone else's.
        m.reject(new Error(`chat message ${m.id} conflicts with a stored message`));
      }
    }
  }

  /** Keeps the newest CHAT_RETENTION messages of a room. */
  async trim(roomId: string): Promise<void> {
    await this.db
      .deleteFrom("chat_messages")
      .where("room_id", "=", roomId)
      .where(
        "seq",
        "<",
        sql<number>`(SELECT seq FROM chat_messages WHERE room_id = ${roomId} ORDER BY seq DESC OFFSET ${CHAT_RETENTION - 1} LIMIT 1)`,
      )
      .execute();
  }

  forgetRoom(roomId: string): void {
    this.insertsSinceTrim.delete(roomId);
  }
}

/** A failure of some rows' data (SQLSTATE class 22 data exception, 23 integrity), not of the database. */
function isRowError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
}
