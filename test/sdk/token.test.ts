/** Token expiry: the JWT's exp claim, and when the REAUTH goes. */
import { describe, expect, it } from "vitest";
import { jwtExpiry, reauthDelay } from "../../packages/client/src/token.js";

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims: Record<string, unknown>) => `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}.c2ln`;

describe("token expiry", () => {
  it("reads exp (seconds) as epoch ms, and nothing from what is not a JWT", () => {
    expect(jwtExpiry(jwt({ sub: "u", exp: 1_750_000_000 }))).toBe(1_750_000_000_000);
    // base64url without padding, with the characters base64 spells + and /
    expect(jwtExpiry(jwt({ sub: "?>?>", name: "ÿÿÿ", exp: 1_750_000_001 }))).toBe(1_750_000_001_000);
    expect(jwtExpiry(jwt({ sub: "u" }))).toBeUndefined();
    expect(jwtExpiry("opaque-token")).toBeUndefined();
    expect(jwtExpiry("a.%%%.c")).toBeUndefined();
  });

  it("renews a minute before expiry, or in the last fifth of a short token's life", () => {
    expect(reauthDelay(3_600_000, 0)).toBe(3_540_000);
    expect(reauthDelay(10_000, 0)).toBe(8_000);
    expect(reauthDelay(10_000, 9_000)).toBe(800);
    expect(reauthDelay(10_000, 12_000)).toBe(0);
  });
});
