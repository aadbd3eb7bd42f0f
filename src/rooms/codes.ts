/** Room codes: 6 characters of [A-Z0-9] drawn from a CSPRNG without modulo bias. */
import { randomInt } from "node:crypto";
import type { Room } from "../../db/schema.js";
import type { DB } from "../db.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PASSWORD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const draw = (alphabet: string, length: number): string =>
  Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");

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
