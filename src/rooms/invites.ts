/**
 * Invite links. A room's host creates a token that admits to the password or approval room
 * without the password or the approval, until it expires, its uses run out or the host revokes
 * it. Only the token's hash is stored and the token is shown once. A use is spent by the join it
 * admits, atomically with that join, and only when the join changes something (a newcomer, or a
 * pending request approved): a member who follows the link again spends nothing. Every create,
 * use and revoke is in the room's timeline.
 */
import { sql } from "kysely";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import { AppError, errors } from "../errors.js";
import { assertJoinable } from "../lifecycle/transitions.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { hashInvite, newInviteToken, usable } from "./invite-tokens.js";
import { requireHostOf } from "./service.js";

export const INVITE_LIMITS = {
  defaultUses: 10,
  maxUses: 1000,
  defaultTtlSeconds: 7 * 24 * 60 * 60,
  maxTtlSeconds: 30 * 24 * 60 * 60,
  minTtlSeconds: 60,
  /** Invites of a room still usable at once (a host who needs more revokes some). */
  activePerRoom: 50,
} as const;

export interface InviteOptions {
  expires_in_seconds?: number | undefined;
  max_uses?: number | undefined;
}

export interface InviteView {
  invite_id: string;
  room_id: string;
  created_at: string;
  expires_at: string;
  max_uses: number;
  uses: number;
  revoked_at: string | null;
  /** Usable now: not revoked, not expired, uses left. */
  active: boolean;
}

export class InviteService {
  constructor(private readonly db: DB) {}

  /** The host creates an invite; its token is in this answer only. */
  async create(user: AuthUser, roomId: string, options: InviteOptions): Promise<InviteView & { token: string; code: string }> {
    const room = await requireHostOf(this.db, user, roomId, "Only host can create invites");
    assertJoinable(room);
    if (!room.is_private) throw errors.validation("A public room needs no invite: anyone with its code can join");
    const ttl = options.expires_in_seconds ?? INVITE_LIMITS.defaultTtlSeconds;
    const maxUses = options.max_uses ?? INVITE_LIMITS.defaultUses;
    const token = newInviteToken();
    const row = await this.db.transaction().execute(async (trx) => {
      // Serialises creates of one room, so the active count cannot be overrun by a burst.
      await trx.selectFrom("rooms").select("id").where("id", "=", room.id).forUpdate().execute();
      const { active } = await trx
        .selectFrom("room_invites")
        .select((eb) => eb.fn.countAll<string>().as("active"))
        .where("room_id", "=", room.id)
        .where(usable)
        .executeTakeFirstOrThrow();
      if (Number(active) >= INVITE_LIMITS.activePerRoom)
        throw new AppError("CONFLICT", `This room has ${INVITE_LIMITS.activePerRoom} usable invites: revoke one first`);
      const created = await trx
        .insertInto("room_invites")
        .values({
          room_id: room.id,
          token_hash: hashInvite(token),
          created_by: user.id,
          expires_at: sql<Date>`now() + make_interval(secs => ${ttl})`,
          max_uses: maxUses,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordRoomEvent(trx, room.id, user.id, "invite.created", {
        invite_id: created.id,
        max_uses: maxUses,
        expires_at: created.expires_at.toISOString(),
      });
      return created;
    });
    return { ...view(row), token, code: room.code };
  }

  /** The host lists the room's invites, newest first (never their tokens). */
  async list(user: AuthUser, roomId: string): Promise<InviteView[]> {
    const room = await requireHostOf(this.db, user, roomId, "Only host can list invites");
    const rows = await this.db
      .selectFrom("room_invites")
      .selectAll()
      .where("room_id", "=", room.id)
      .orderBy("created_at", "desc")
      .orderBy("id")
      .execute();
    return rows.map(view);
  }

  /** The host revokes an invite: it admits nobody from now on. Revoking it again changes nothing. */
  async revoke(user: AuthUser, roomId: string, inviteId: string): Promise<{ revoked: true; invite: InviteView }> {
    const room = await requireHostOf(this.db, user, roomId, "Only host can revoke invites");
    const row = await this.db.transaction().execute(async (trx) => {
      const revoked = await trx
        .updateTable("room_invites")
        .set({ revoked_at: sql`now()` })
        .where("id", "=", inviteId)
        .where("room_id", "=", room.id)
        .where("revoked_at", "is", null)
        .returningAll()
        .executeTakeFirst();
      if (revoked) await recordRoomEvent(trx, room.id, user.id, "invite.revoked", { invite_id: inviteId });
      return (
        revoked ??
        (await trx.selectFrom("room_invites").selectAll().where("id", "=", inviteId).where("room_id", "=", room.id).executeTakeFirst())
      );
    });
    if (!row) throw new AppError("NOT_FOUND", "No such invite in this room");
    return { revoked: true, invite: view(row) };
  }
}

function view(row: {
  id: string;
  room_id: string;
  created_at: Date;
  expires_at: Date;
  max_uses: number;
  uses: number;
  revoked_at: Date | null;
}): InviteView {
  return {
    invite_id: row.id,
    room_id: row.room_id,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    max_uses: row.max_uses,
    uses: row.uses,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    active: row.revoked_at === null && row.expires_at.getTime() > Date.now() && row.uses < row.max_uses,
  };
}
