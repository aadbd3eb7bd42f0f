/** Room codes: 6 characters of [A-Z0-9] drawn from a CSPRNG without modulo bias. */
import { randomInt } from "node:crypto";
import { sql } from "kysely";
import type { ParticipantStatus, Room } from "../../db/schema.js";
import type { DB } from "../db.js";
import { bannedFrom } from "../moderation/service.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PASSWORD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const draw = (alphabet: string, length: number): string => Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");

export const ROOM_CODE_LENGTH = 6;
export const ROOM_CODE_PATTERN = /^[A-Z0-9]{4,10}$/;
export const newRoomCode = (): string => draw(ALPHABET, ROOM_CODE_LENGTH);
/** The one-time password of a PASSWORD room: 8 characters of [a-zA-Z0-9]. */
export const newRoomPassword = (): string => draw(PASSWORD_ALPHABET, 8);

/** Looks a room up by a user-typed code (any case); codes that cannot exist never reach SQL. */
export async function findRoomByCode(db: DB, code: string): Promise<Room | undefined> {
  const normalized = code.trim().toUpperCase();
  if (!ROOM_CODE_PATTERN.test(normalized)) return undefined;
  return db.selectFrom("rooms").selectAll().where("code", "=", normalized).executeTakeFirst();
}

/** A room with what admission needs to know about one user: participant status and ban. */
export interface RoomForUser {
  room: Room;
  participantStatus: ParticipantStatus | null;
  banned: boolean;
}

/**
 * The room behind a code plus the user's participant status and ban, in one round trip (a
 * socket admission's checks; three queries before, which a join storm paid 1,000 times over).
 */
export async function findRoomForUser(db: DB, code: string, userId: string): Promise<RoomForUser | undefined> {
  const normalized = code.trim().toUpperCase();
  if (!ROOM_CODE_PATTERN.test(normalized)) return undefined;
  const row = await db
    .selectFrom("rooms as r")
    .leftJoin("room_participants as p", (join) => join.onRef("p.room_id", "=", "r.id").on("p.user_id", "=", userId))
    .selectAll("r")
    .select("p.status as participant_status")
    .select(bannedFrom(sql.ref<string>("r.id"), userId).as("banned"))
    .where("r.code", "=", normalized)
    .executeTakeFirst();
  if (!row) return undefined;
  const { participant_status, banned, ...room } = row;
  return { room, participantStatus: participant_status, banned: Boolean(banned) };
}
