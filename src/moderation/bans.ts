/**
 * "Still in force" for bans and mutes as SQL, in a module of its own so that the modules judging
 * who may do what (rooms/authority.ts) and the moderation service can both build on it.
 */
import { type Expression, type RawBuilder, sql } from "kysely";

/** "Still applies" for a room_bans / room_mutes row (a timed one stops at expires_at). */
export const inForce = (alias: string) =>
  sql<boolean>`(${sql.ref(`${alias}.expires_at`)} IS NULL OR ${sql.ref(`${alias}.expires_at`)} > now())`;

/**
 * "The user is banned from this room" as an SQL expression, for queries that read a room and
 * a user's standing in it in one round trip (`room` is the room id column of the outer query).
 * A timed ban stops applying at its expiry.
 */
export function bannedFrom(room: string | Expression<string>, userId: string | Expression<string>): RawBuilder<boolean> {
  return sql<boolean>`EXISTS (SELECT 1 FROM room_bans b WHERE b.room_id = ${room} AND b.user_id = ${userId} AND ${inForce("b")})`;
}
