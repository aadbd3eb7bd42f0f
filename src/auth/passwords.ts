/** Password hashing (argon2id) and the strength rule for new account passwords. */
// @node-rs/argon2 ships a prebuilt binary per platform as an optional dependency (no install
// script, no compiler), so `npm ci --ignore-scripts` gives a working server on every supported
// Node. It replaced `argon2`, whose 0.45 prebuilds need N-API 10 and crash Node 20 unless compiled
// from source. Both write standard PHC strings, so hashes stored by either still verify.
import argon2 from "@node-rs/argon2";

// OWASP's argon2id baseline (19 MiB, t=2, p=1): strong, yet cheap enough for a busy login path.
// The algorithm is left at the library's default, argon2id: its `Algorithm` is an ambient const
// enum, which `isolatedModules` cannot read; test/passwords.test.ts pins the output to argon2id.
const HASH_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (plain: string): Promise<string> => argon2.hash(plain, HASH_OPTIONS);

export async function verifyPassword(hash: string | null | undefined, plain: string): Promise<boolean> {
  if (!hash) {
    // Spend the same time as a real check so response timing does not reveal unknown accounts.
    await argon2.hash(plain, HASH_OPTIONS);
    return false;
  }
  try {
    return await argon2.verify(hash, plain);
  } catch {
    return false;
  }
}

const COMMON_PASSWORDS = new Set([
  "password",
  "password1",
  "password123",
  "12345678",
  "123456789",
  "1234567890",
  "qwerty123",
  "qwertyuiop",
  "iloveyou",
  "11111111",
  "00000000",
  "abc12345",
  "letmein1",
  "welcome1",
  "passw0rd",
  "admin123",
  "streamit",
  "football",
  "baseball",
  "sunshine",
  "princess",
]);

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** Returns why a new password is too weak, or null when it is acceptable. */
export function passwordWeakness(password: string, context: { email?: string; username?: string }): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `Password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return "Password is too common";
  if (new Set(password).size < 4) return "Password is too repetitive";
  const local = context.email?.split("@")[0]?.toLowerCase();
  if ((local && lower === local) || (context.username && lower === context.username.toLowerCase())) {
    return "Password must not match your email or username";
  }
  return null;
}
