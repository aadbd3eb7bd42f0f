/**
 * Access tokens are short-lived HS256 JWTs (claims: user_id, sid, jti, token_type, iat, exp).
 * Refresh tokens are opaque random strings; only their SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createSigner, createVerifier } from "fast-jwt";
import { AppError } from "../errors.js";

export interface AccessClaims {
  user_id: string;
  sid: string;
  jti: string;
  token_type: "access";
  iat: number;
  exp: number;
}

export class TokenService {
  private readonly sign: (payload: Record<string, unknown>) => string;
  private readonly verify: (token: string) => AccessClaims;

  constructor(
    secret: string,
    readonly accessTtlSeconds: number,
  ) {
    this.sign = createSigner({ key: secret, algorithm: "HS256", expiresIn: accessTtlSeconds * 1000 });
    this.verify = createVerifier({ key: secret, algorithms: ["HS256"], clockTolerance: 5_000, cache: 1000 });
  }

  issueAccess(userId: string, sessionId: string): string {
    return this.sign({ user_id: userId, sid: sessionId, jti: randomUUID(), token_type: "access" });
  }

  /** Verifies signature, expiry and shape; throws INVALID_TOKEN otherwise. */
  verifyAccess(token: string): AccessClaims {
    let claims: AccessClaims;
    try {
      claims = this.verify(token);
    } catch {
      throw new AppError("INVALID_TOKEN", "Given token not valid for any token type");
    }
    if (claims.token_type !== "access" || typeof claims.user_id !== "string" || typeof claims.sid !== "string") {
      throw new AppError("INVALID_TOKEN", "Given token not valid for any token type");
    }
    return claims;
  }
}

export const newRefreshToken = (): string => randomBytes(32).toString("base64url");

export const hashRefreshToken = (token: string): string => createHash("sha256").update(token).digest("hex");
