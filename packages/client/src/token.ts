/**
 * When an access token expires, and when to renew it. The server closes a socket at its
 * token's expiry (4001 `Token expired`) unless a REAUTH with a fresh token came first; the
 * first expiry is the JWT's own `exp` claim, later ones come back in REAUTHED `expires_at`.
 */

/** The `exp` claim of a JWT (epoch ms), or undefined when it is not a readable JWT. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="))) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long from `now` until the REAUTH should go (ms): `leadMs` before the expiry, but never
 * more than a fifth of the time left before it (a short-lived token is renewed in its last
 * fifth, not at once), and never negative.
 */
export function reauthDelay(expiresAt: number, now: number, leadMs = 60_000): number {
  const left = expiresAt - now;
  return Math.max(0, left - Math.min(leadMs, left / 5));
}
