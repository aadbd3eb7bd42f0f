/**
 * Durable room bans (enforced on HTTP join and socket connect) and mutes (enforced by the chat
 * gates from the realtime state, which is restored from here), with their audit trail. Every
 * moderation action judges its moderator and target by the roles in the database, in the
 * transaction that writes it (see `judge`).
 */
import { sql } from "kysely";
import type { DB } from "../db.js";
import { AppError, errors } from "../errors.js";
import { isProtectedTarget, isRoomHost, may, mayAct } from "../rooms/authority.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { bannedFrom, inForce } from "./bans.js";

export { bannedFrom };

/** A moderation action's optional reason and duration (timed mutes and bans). */
export interface Sanction {
  reason?: string | null | undefined;
  /** Lifted automatically after this many seconds; none = until lifted by the host. */
  durationSeconds?: number | null | undefined;
}

/** What a mute or ban now is: `expiresAt` null = until lifted. */
export interface SanctionState {
  reason: string | null;
  expiresAt: Date | null;
}

/** True when the user is banned from the room (HTTP join and socket admission both ask). */
export async function isBanned(db: DB, roomId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom("room_bans as b")
    .select("b.user_id")
    .where("b.room_id", "=", roomId)
    .where("b.user_id", "=", userId)
    .where(inForce("b"))
    .executeTakeFirst();
  return row !== undefined;
}

/** The two durable sanctions: the same columns but for who imposed them, and their timeline events. */
const SANCTIONS = {
  ban: { table: "room_bans", actor: "banned_by", imposed: "moderation.banned", lifted: "moderation.unbanned" },
  mute: { table: "room_mutes", actor: "muted_by", imposed: "moderation.muted", lifted: "moderation.unmuted" },
} as const;
type SanctionKind = (typeof SANCTIONS)[keyof typeof SANCTIONS];

/** `now() + duration`, by the database clock (the one bans are checked against). */
const expiry = (durationSeconds: number | null | undefined) =>
  durationSeconds ? sql<Date>`now() + ${durationSeconds}::int * interval '1 second'` : null;

export class ModerationService {
  constructor(private readonly db: DB) {}

  isBanned(roomId: string, userId: string): Promise<boolean> {
    return isBanned(this.db, roomId, userId);
  }

  /** The user may moderate the room now (host, or co-host while co-hosts moderate): slow mode spares them. */
  mayModerate(roomId: string, userId: string): Promise<boolean> {
    return may(this.db, "moderate", roomId, userId);
  }

  /** Bans, or re-bans with a new reason and expiry (the latest ban is the one in force). */
  ban(roomId: string, userId: string, by: string, sanction: Sanction = {}): Promise<SanctionState> {
    return this.impose(SANCTIONS.ban, roomId, userId, by, sanction);
  }

  /** Returns false when the user was not banned (an expired ban is cleared silently). */
  unban(roomId: string, userId: string, by: string): Promise<boolean> {
    return this.lift(SANCTIONS.ban, roomId, userId, by);
  }

  /** Mutes, or re-mutes with a new reason and expiry. */
  mute(roomId: string, userId: string, by: string, sanction: Sanction = {}): Promise<SanctionState> {
    return this.impose(SANCTIONS.mute, roomId, userId, by, sanction);
  }

  /** Lifts a mute; returns false when none was in force (an expired one is cleared silently). */
  unmute(roomId: string, userId: string, by: string): Promise<boolean> {
    return this.lift(SANCTIONS.mute, roomId, userId, by);
  }

  /**
   * A kick: judged and recorded (`moderation.kicked`) in one transaction; the caller then
   * closes the target's connections.
   */
  async kick(roomId: string, userId: string, by: string, reason: string | null = null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await judge(trx, roomId, by, userId, { participant: true });
      await recordRoomEvent(trx, roomId, by, "moderation.kicked", { user_id: userId }, reason);
    });
  }

  /** Writes a ban or mute (replacing the reason and expiry of one in force) and its timeline row. */
  private async impose(kind: SanctionKind, roomId: string, userId: string, by: string, sanction: Sanction): Promise<SanctionState> {
    const reason = sanction.reason ?? null;
    const terms = { [kind.actor]: by, reason, expires_at: expiry(sanction.durationSeconds) };
    return this.db.transaction().execute(async (trx) => {
      await judge(trx, roomId, by, userId, { participant: true });
      const row = await trx
        .insertInto(kind.table)
        .values({ room_id: roomId, user_id: userId, ...terms } as never)
        .onConflict((oc) => oc.columns(["room_id", "user_id"]).doUpdateSet({ ...terms, created_at: sql`now()` } as never))
        .returning("expires_at")
        .executeTakeFirstOrThrow();
      await recordRoomEvent(trx, roomId, by, kind.imposed, sanctionData(userId, sanction, row.expires_at), reason);
      return { reason, expiresAt: row.expires_at };
    });
  }

  /**
   * Removes a ban or mute; true (and a timeline row) only when it was still in force. Unmuting
   * needs a participant; unbanning does not (false: "not banned").
   */
  private async lift(kind: SanctionKind, roomId: string, userId: string, by: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await judge(trx, roomId, by, userId, { participant: kind === SANCTIONS.mute });
      const removed = await trx
        .deleteFrom(kind.table)
        .where("room_id", "=", roomId)
        .where("user_id", "=", userId)
        .returning(inForce(kind.table).as("active"))
        .executeTakeFirst();
      const active = Boolean(removed?.active);
      if (active) await recordRoomEvent(trx, roomId, by, kind.lifted, { user_id: userId });
      return active;
    });
  }

  /** The mutes in force, with their expiry (epoch ms; null = until lifted). */
  async mutedUsers(roomId: string): Promise<{ userId: string; until: number | null }[]> {
    const rows = await this.db
      .selectFrom("room_mutes as m")
      .select(["m.user_id", "m.expires_at"])
      .where("m.room_id", "=", roomId)
      .where(inForce("m"))
      .execute();
    return rows.map((r) => ({ userId: r.user_id, until: r.expires_at?.getTime() ?? null }));
  }
}

/**
 * Judges a moderation action by the roles the database has now, inside the transaction that
 * writes it, and throws the refusal. The room row is read FOR SHARE first: a role change
 * (co-hosts, host policy; it holds the row FOR UPDATE) either committed before, and the next
 * statement sees it, or waits until this action has committed. A succession or reclaim updates
 * the row, so it waits the same way.
 */
async function judge(trx: DB, roomId: string, actorId: string, targetId: string, need: { participant: boolean }): Promise<void> {
  await trx.selectFrom("rooms").select("id").where("id", "=", roomId).forShare().executeTakeFirst();
  const standing = await trx
    .selectNoFrom([
      mayAct("moderate", roomId, actorId).as("allowed"),
      isRoomHost(roomId, actorId).as("host"),
      isProtectedTarget(roomId, targetId).as("protected"),
      sql<boolean>`EXISTS (SELECT 1 FROM room_participants tp WHERE tp.room_id = ${roomId} AND tp.user_id = ${targetId})`.as("participant"),
    ])
    .executeTakeFirstOrThrow();
  if (!standing.allowed) throw errors.forbidden("Only host can moderate");
  if (targetId === actorId) throw errors.validation("The host cannot moderate itself");
  if (!standing.host && standing.protected) throw errors.forbidden("Co-hosts cannot moderate the host or other co-hosts");
  if (need.participant && !standing.participant) throw new AppError("PARTICIPANT_NOT_FOUND", "User is not a participant of this room");
}

function sanctionData(userId: string, sanction: Sanction, expiresAt: Date | null): Record<string, unknown> {
  return {
    user_id: userId,
    duration_seconds: sanction.durationSeconds ?? null,
    expires_at: expiresAt?.toISOString() ?? null,
  };
}
