/**
 * Password hashes across the switch from `argon2` (0.45) to `@node-rs/argon2`: hashes the old
 * library stored still verify, and new ones keep the same PHC parameters.
 */
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../src/auth/passwords.js";
import { OLD_DEFAULT_HASH, OLD_HASH } from "./helpers/old-hashes.js";

// argon2id, version 19, OWASP's m=19 MiB t=2 p=1, a 16-byte salt and a 32-byte hash (unpadded base64).
const NEW_HASH_SHAPE = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

describe("password hashes", () => {
  it("verify what the previous library stored, and refuse a wrong password", async () => {
    expect(await verifyPassword(OLD_HASH.hash, OLD_HASH.password)).toBe(true);
    expect(await verifyPassword(OLD_HASH.hash, `${OLD_HASH.password}!`)).toBe(false);
    expect(await verifyPassword(OLD_DEFAULT_HASH.hash, OLD_DEFAULT_HASH.password)).toBe(true);
    expect(await verifyPassword(OLD_DEFAULT_HASH.hash, "Unicode password ✓")).toBe(false);
  });

  it("hash new passwords as argon2id with the same parameters and a fresh salt", async () => {
    const [a, b] = await Promise.all([hashPassword("a new password"), hashPassword("a new password")]);
    expect(a).toMatch(NEW_HASH_SHAPE);
    expect(b).toMatch(NEW_HASH_SHAPE);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, "a new password")).toBe(true);
    expect(await verifyPassword(a, "a new passwore")).toBe(false);
  });

  it("refuse a missing or malformed hash instead of throwing", async () => {
    expect(await verifyPassword(null, "whatever1")).toBe(false);
    expect(await verifyPassword("", "whatever1")).toBe(false);
    expect(await verifyPassword("$argon2id$v=19$m=19456,t=2,p=1$garbage", "whatever1")).toBe(false);
    expect(await verifyPassword("$2b$10$notanargon2hashatall", "whatever1")).toBe(false);
  });
});
