/** Invite tokens: made, hashed, and spent by the join they admit (see invites.ts). */
import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Room } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError } from "../errors.js";
import { recordRoomEvent } from "../timeline/timeline.js";

export const newInviteToken = (): string => randomBytes(24).toString("base64url");
/** Only this is stored: a leaked table admits nobody. */
export const hashInvite = (token: string): string => createHash("sha256").update(token).digest("hex");

/** An invite still usable now (SQL, for a `where`). */
export const usable = sql<boolean>`revoked_at IS NULL AND expires_at > now() AND uses < max_uses`;

/**
 * Spends one use of the room's invite `token` inside the join's transaction; INVALID_INVITE when
 * it is unknown, of another room, expired, used up or revoked. Atomic: two joins racing for the
 * last use cannot both have it.
 */
export async function spendInvite(trx: DB, room: Room, userId: string, token: string): Promise<string> {
  const spent = await trx
    .updateTable("room_invites")
    .set((eb) => ({ uses: eb("uses", "+", 1) }))
    .where("token_hash", "=", hashInvite(token))
    .where("room_id", "=", room.id)
    .where(usable)
    .returning("id")
    .executeTakeFirst();
  if (!spent) throw new AppError("INVALID_INVITE", "This invite is not valid: it is unknown, expired, used up or revoked");
  await recordRoomEvent(trx, room.id, userId, "invite.used", { invite_id: spent.id });
  return spent.id;
}
