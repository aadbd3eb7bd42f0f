/**
 * Who may act in a room, as the database has it now: the one authority for commands that need a
 * power (playback, moderation, the slow-mode exemption). Each builder is an SQL boolean to put
 * inside the statement or transaction that applies the command, so a command is judged by the
 * roles in force when it is applied, on every instance alike. (The instances' in-memory roles,
 * updated when `room.roles_changed` / `room.host_changed` reaches them, are for display only.)
 *
 * The rules (as rooms/permissions.ts and rooms/roles.ts define them): the host is `rooms.host_id`
 * and never a guest; a co-host is a registered participant with `is_cohost`, APPROVED and not
 * banned; co-hosts have a power only while the room's flag for it is on.
 */
import { type Expression, type RawBuilder, sql } from "kysely";
import type { DB } from "../db.js";
import { bannedFrom } from "../moderation/bans.js";

export type Power = "playback" | "moderate";

/** The room flag that lets co-hosts use a power. */
const COHOST_FLAG = { playback: "cohosts_control_playback", moderate: "cohosts_moderate" } as const satisfies Record<Power, string>;

type Id = string | Expression<string>;

/** The user is the room's host (and not a guest: guests never get host powers). */
export function isRoomHost(roomId: Id, userId: Id): RawBuilder<boolean> {
  return sql<boolean>`EXISTS (SELECT 1 FROM rooms hr JOIN users hu ON hu.id = hr.host_id
    WHERE hr.id = ${roomId} AND hr.host_id = ${userId} AND NOT hu.is_guest)`;
}

/** The user is a co-host of the room now: approved, registered, not banned, `is_cohost`. */
export function isRoomCohost(roomId: Id, userId: Id): RawBuilder<boolean> {
  return sql<boolean>`EXISTS (SELECT 1 FROM room_participants cp JOIN users cu ON cu.id = cp.user_id
    WHERE cp.room_id = ${roomId} AND cp.user_id = ${userId} AND cp.is_cohost AND cp.status = 'APPROVED'
      AND NOT cu.is_guest AND NOT ${bannedFrom(sql.ref<string>("cp.room_id"), sql.ref<string>("cp.user_id"))})`;
}

/**
 * The user may use `power` in the room now: its host, or a co-host while the room lets
 * co-hosts use it.
 */
export function mayAct(power: Power, roomId: Id, userId: Id): RawBuilder<boolean> {
  return sql<boolean>`(${isRoomHost(roomId, userId)} OR (
    EXISTS (SELECT 1 FROM rooms fr WHERE fr.id = ${roomId} AND ${sql.ref(`fr.${COHOST_FLAG[power]}`)})
    AND ${isRoomCohost(roomId, userId)}))`;
}

/**
 * The target is out of a co-host's reach: the room's host or one of its co-hosts (only the host
 * moderates them).
 */
export function isProtectedTarget(roomId: Id, targetId: Id): RawBuilder<boolean> {
  return sql<boolean>`(EXISTS (SELECT 1 FROM rooms pr WHERE pr.id = ${roomId} AND pr.host_id = ${targetId}) OR ${isRoomCohost(roomId, targetId)})`;
}

/** Reads `mayAct` on its own (for a check that has no write of its own to ride on). */
export async function may(db: DB, power: Power, roomId: string, userId: string): Promise<boolean> {
  const row = await db.selectNoFrom(mayAct(power, roomId, userId).as("allowed")).executeTakeFirst();
  return row?.allowed === true;
}
