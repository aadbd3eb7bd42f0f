/**
 * Durable room bans (enforced on HTTP join and socket connect) and mutes (enforced by the chat
 * gates from the realtime state, which is restored from here), with their audit trail.
 */
import { type Expression, type RawBuilder, sql } from "kysely";
import type { DB } from "../db.js";
import { recordRoomEvent } from "../rooms/audit.js";

/**
 * "The user is banned from this room" as an SQL expression, for queries that read a room and
 * a user's standing in it in one round trip (`room` is the room id column of the outer query).
 */
export function bannedFrom(room: Expression<string>, userId: string): RawBuilder<boolean> {
  return sql<boolean>`EXISTS (SELECT 1 FROM room_bans b WHERE b.room_id = ${room} AND b.user_id = ${userId})`;
}

/** True when the user is banned from the room (HTTP join and socket admission both ask). */
export async function isBanned(db: DB, roomId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom("room_bans")
    .select("user_id")
    .where("room_id", "=", roomId)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return row !== undefined;
}

export class ModerationService {
  constructor(private readonly db: DB) {}

  isBanned(roomId: string, userId: string): Promise<boolean> {
    return isBanned(this.db, roomId, userId);
  }

  async ban(roomId: string, userId: string, by: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("room_bans")
        .values({ room_id: roomId, user_id: userId, banned_by: by })
        .onConflict((oc) => oc.columns(["room_id", "user_id"]).doNothing())
        .returning("user_id")
        .executeTakeFirst();
      if (inserted) await recordRoomEvent(trx, roomId, by, "moderation.banned", { user_id: userId });
    });
  }

  /** Returns false when the user was not banned. */
  async unban(roomId: string, userId: string, by: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom("room_bans")
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .returning("user_id")
        .executeTakeFirst();
      if (removed) await recordRoomEvent(trx, roomId, by, "moderation.unbanned", { user_id: userId });
      return removed !== undefined;
    });
  }

  /** Records a mute or unmute; returns false when nothing changed. */
  async setMuted(roomId: string, userId: string, by: string, muted: boolean): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const changed = muted
        ? await trx
            .insertInto("room_mutes")
            .values({ room_id: roomId, user_id: userId, muted_by: by })
            .onConflict((oc) => oc.columns(["room_id", "user_id"]).doNothing())
            .returning("user_id")
            .executeTakeFirst()
        : await trx.deleteFrom("room_mutes").where("room_id", "=", roomId).where("user_id", "=", userId).returning("user_id").executeTakeFirst();
      if (changed) await recordRoomEvent(trx, roomId, by, muted ? "moderation.muted" : "moderation.unmuted", { user_id: userId });
      return changed !== undefined;
    });
  }

  async mutedUsers(roomId: string): Promise<string[]> {
    const rows = await this.db.selectFrom("room_mutes").select("user_id").where("room_id", "=", roomId).execute();
    return rows.map((r) => r.user_id);
  }

  async record(roomId: string, actorId: string, event: string, data: Record<string, unknown>): Promise<void> {
    await recordRoomEvent(this.db, roomId, actorId, event, data);
  }
}
