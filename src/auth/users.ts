/** The users table: creation with generated usernames, lookups, renames. */
import { randomBytes } from "node:crypto";
import type { NewUser, User } from "../../db/schema.js";
import { type DB, isUniqueViolation } from "../db.js";
import { AppError } from "../errors.js";

export const USERNAME_PATTERN = /^[a-zA-Z0-9_]{3,20}$/;
const USERNAME_INDEX = "users_username_lower_key";
const EMAIL_INDEX = "users_email_lower_key";

export interface AuthUser {
  id: string;
  email: string | null;
  username: string | null;
  display_name: string;
  is_guest: boolean;
  is_staff: boolean;
}

export const toAuthUser = (u: User): AuthUser => ({
  id: u.id,
  email: u.email,
  username: u.username,
  display_name: u.display_name,
  is_guest: u.is_guest,
  is_staff: u.is_staff,
});

/** The original's rule: email local part, else display name, else "user"; lowercase [a-z0-9_]. */
export function usernameBase(email: string | null | undefined, displayName: string | null | undefined): string {
  const source = email ? email.split("@")[0] : displayName || "user";
  const cleaned = (source ?? "")
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9_]/g, "");
  return (cleaned || "user").slice(0, 15);
}

const hexSuffix = () => randomBytes(2).toString("hex");

/**
 * Inserts a user. With no username, one is generated from the base and suffixed with random
 * hex until the case-insensitive unique index accepts it (safe under concurrent sign-ups).
 */
export async function insertUser(db: DB, user: Omit<NewUser, "username"> & { username?: string | null }): Promise<User> {
  const explicit = user.username ?? null;
  const base = usernameBase(user.email, user.display_name);
  let candidate = explicit ?? (base.length >= 3 ? base : base + hexSuffix());
  for (let attempt = 0; attempt < 12; attempt += 1) {
    try {
      return await db
        .insertInto("users")
        .values({ ...user, username: candidate })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (err) {
      if (isUniqueViolation(err, EMAIL_INDEX)) throw new AppError("EMAIL_TAKEN", "Email already registered");
      if (!isUniqueViolation(err, USERNAME_INDEX)) throw err;
      if (explicit !== null) throw new AppError("USERNAME_TAKEN", "Username already taken", { status: 409 });
      candidate = base + hexSuffix();
    }
  }
  throw new AppError("CONFLICT", "Could not allocate a unique username, please retry");
}

export const findUserByEmail = (db: DB, email: string) =>
  db
    .selectFrom("users")
    .selectAll()
    .where((eb) => eb(eb.fn("lower", ["email"]), "=", email.toLowerCase()))
    .executeTakeFirst();

/** Sets username and display name together, as the original did. Race-safe via the unique index. */
export async function renameUser(db: DB, userId: string, username: string): Promise<void> {
  try {
    await db.updateTable("users").set({ username, display_name: username }).where("id", "=", userId).execute();
  } catch (err) {
    if (isUniqueViolation(err, USERNAME_INDEX)) throw new AppError("USERNAME_TAKEN", "Username already taken");
    throw err;
  }
}
