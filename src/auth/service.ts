/**
 * Accounts and sessions: register, login, guests, refresh-token rotation, logout, and turning a
 * bearer token into a user. A session row backs every token pair, so logout revokes both.
 */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { User } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError, errors } from "../errors.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";
import { hashPassword, passwordWeakness, verifyPassword } from "./passwords.js";
import { hashRefreshToken, newRefreshToken, type TokenService } from "./tokens.js";
import { type AuthUser, findUserByEmail, insertUser, renameUser, toAuthUser, USERNAME_PATTERN } from "./users.js";

export const AUTH_LIMITS = {
  loginPerClient: { limit: 20, windowSeconds: 15 * 60, escalate: { maxLockSeconds: 24 * 60 * 60 } },
  loginPerAccount: { limit: 10, windowSeconds: 15 * 60, escalate: { maxLockSeconds: 24 * 60 * 60 } },
  signupPerClient: { limit: 30, windowSeconds: 10 * 60 },
} satisfies Record<string, LimitRule>;
export type AuthLimits = Record<keyof typeof AUTH_LIMITS, LimitRule>;

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
}

/** The original login body `{id, display_name, is_guest, access_token}` plus added keys. */
export interface LoginResult extends TokenPair {
  id: string;
  display_name: string;
  username: string | null;
  is_guest: boolean;
}

export interface AuthenticatedUser extends AuthUser {
  session_id: string;
  /** When the presented access token expires (epoch ms): an open socket closes then (4001). */
  token_expires_at: number;
}

export class AuthService {
  constructor(
    private readonly db: DB,
    private readonly tokens: TokenService,
    private readonly limiter: AttemptLimiter,
    private readonly refreshTtlSeconds: number,
    /** Told about revoked sessions, so that their open sockets can be closed. */
    private readonly onRevoked: (sessionIds: string[]) => void = () => {},
    private readonly limits: AuthLimits = AUTH_LIMITS,
  ) {}

  async register(
    input: { email: string; password: string; display_name: string; username?: string | undefined },
    client: string,
  ): Promise<LoginResult> {
    await this.spendSignupBudget(client);
    const weakness = passwordWeakness(input.password, input);
    if (weakness) throw new AppError("WEAK_PASSWORD", weakness);
    const user = await insertUser(this.db, {
      email: input.email,
      display_name: input.display_name,
      username: input.username ?? null,
      password_hash: await hashPassword(input.password),
    });
    return this.loginResult(user);
  }

  async login(email: string, password: string, client: string): Promise<LoginResult> {
    const clientKey = `login:client:${client}`;
    const accountKey = `login:account:${email.toLowerCase()}`;
    for (const [key, rule] of [
      [clientKey, this.limits.loginPerClient],
      [accountKey, this.limits.loginPerAccount],
    ] as const) {
      const verdict = await this.limiter.peek(key, rule);
      if (!verdict.allowed) throw errors.rateLimited(verdict.retryAfterSeconds, "Too many login attempts. Please wait.");
    }
    const user = await findUserByEmail(this.db, email);
    const ok = await verifyPassword(user?.is_guest ? null : user?.password_hash, password);
    if (!user || !ok || !user.is_active) {
      await Promise.all([
        this.limiter.hit(clientKey, this.limits.loginPerClient),
        this.limiter.hit(accountKey, this.limits.loginPerAccount),
      ]);
      throw new AppError("INVALID_CREDENTIALS", "Invalid credentials");
    }
    await this.limiter.reset(accountKey);
    await this.db.updateTable("users").set({ last_login: new Date() }).where("id", "=", user.id).execute();
    return this.loginResult(user);
  }

  /** `guest/`: a guest account with the given display name and a generated username. */
  async guest(displayName: string, client: string): Promise<LoginResult> {
    await this.spendSignupBudget(client);
    const user = await insertUser(this.db, { email: null, display_name: displayName, is_guest: true, password_hash: null });
    return this.loginResult(user);
  }

  /** `guest-login/`: a guest named `Guest-<6 hex>`; the username keeps to the username rule. */
  async guestLogin(client: string): Promise<LoginResult> {
    await this.spendSignupBudget(client);
    const tag = randomBytes(3).toString("hex");
    const user = await insertUser(this.db, {
      email: null,
      display_name: `Guest-${tag}`,
      username: null,
      is_guest: true,
      password_hash: null,
    });
    return this.loginResult(user);
  }

  /**
   * Rotates a refresh token. A token used twice means it leaked: the whole session is revoked.
   */
  async refresh(refreshToken: string): Promise<LoginResult> {
    const tokenHash = hashRefreshToken(refreshToken);
    return this.db
      .transaction()
      .execute(async (trx) => {
        const used = await trx
          .updateTable("refresh_tokens")
          .set({ used_at: sql`now()` })
          .where("token_hash", "=", tokenHash)
          .where("used_at", "is", null)
          .where("expires_at", ">", sql<Date>`now()`)
          .returning("session_id")
          .executeTakeFirst();
        if (!used) {
          const replayed = await trx
            .selectFrom("refresh_tokens")
            .select("session_id")
            .where("token_hash", "=", tokenHash)
            .executeTakeFirst();
          if (replayed) {
            await trx
              .updateTable("auth_sessions")
              .set({ revoked_at: sql`now()` })
              .where("id", "=", replayed.session_id)
              .where("revoked_at", "is", null)
              .execute();
          }
          return { error: true as const, revoked: replayed?.session_id };
        }
        const session = await trx
          .selectFrom("auth_sessions")
          .innerJoin("users", "users.id", "auth_sessions.user_id")
          .selectAll("users")
          .where("auth_sessions.id", "=", used.session_id)
          .where("auth_sessions.revoked_at", "is", null)
          .where("users.is_active", "=", true)
          .executeTakeFirst();
        if (!session) return { error: true as const };
        const expiresAt = this.refreshExpiry();
        await trx.updateTable("auth_sessions").set({ expires_at: expiresAt }).where("id", "=", used.session_id).execute();
        const pair = await this.issuePair(trx, session.id, used.session_id, expiresAt);
        return { error: false as const, result: this.toLoginResult(session, pair) };
      })
      .then((outcome) => {
        // Thrown outside the transaction so a replay's session revocation is committed.
        if (outcome.error) {
          if (outcome.revoked) this.onRevoked([outcome.revoked]);
          throw new AppError("INVALID_TOKEN", "Refresh token is invalid, expired or already used");
        }
        return outcome.result;
      });
  }

  /** Revokes the session behind the presented access token and/or refresh token. */
  async logout(sessionId: string | undefined, refreshToken: string | undefined): Promise<void> {
    const sessionIds = new Set<string>();
    if (sessionId) sessionIds.add(sessionId);
    if (refreshToken) {
      const row = await this.db
        .selectFrom("refresh_tokens")
        .select("session_id")
        .where("token_hash", "=", hashRefreshToken(refreshToken))
        .executeTakeFirst();
      if (row) sessionIds.add(row.session_id);
    }
    if (sessionIds.size === 0) return;
    await this.db
      .updateTable("auth_sessions")
      .set({ revoked_at: sql`now()` })
      .where("id", "in", [...sessionIds])
      .where("revoked_at", "is", null)
      .execute();
    this.onRevoked([...sessionIds]);
  }

  /** Resolves a bearer access token to its user; one indexed query checks user and session. */
  async authenticate(token: string): Promise<AuthenticatedUser> {
    const claims = this.tokens.verifyAccess(token);
    const row = await this.db
      .selectFrom("auth_sessions")
      .innerJoin("users", "users.id", "auth_sessions.user_id")
      .selectAll("users")
      .where("auth_sessions.id", "=", claims.sid)
      .where("auth_sessions.user_id", "=", claims.user_id)
      .where("auth_sessions.revoked_at", "is", null)
      .where("users.is_active", "=", true)
      .executeTakeFirst();
    if (!row) throw new AppError("INVALID_TOKEN", "Given token not valid for any token type");
    return { ...toAuthUser(row), session_id: claims.sid, token_expires_at: claims.exp * 1000 };
  }

  async setUsername(userId: string, username: string): Promise<void> {
    if (!username) throw new AppError("VALIDATION_FAILED", "Username required");
    if (!USERNAME_PATTERN.test(username)) {
      throw new AppError("VALIDATION_FAILED", "Username must be 3-20 chars, alphanumeric or underscore");
    }
    await renameUser(this.db, userId, username);
  }

  private async spendSignupBudget(client: string): Promise<void> {
    const verdict = await this.limiter.hit(`signup:client:${client}`, this.limits.signupPerClient);
    if (!verdict.allowed) throw errors.rateLimited(verdict.retryAfterSeconds, "Too many accounts created. Please wait.");
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.refreshTtlSeconds * 1000);
  }

  private async loginResult(user: User): Promise<LoginResult> {
    const expiresAt = this.refreshExpiry();
    const pair = await this.db.transaction().execute(async (trx) => {
      const session = await trx
        .insertInto("auth_sessions")
        .values({ user_id: user.id, expires_at: expiresAt })
        .returning("id")
        .executeTakeFirstOrThrow();
      return this.issuePair(trx, user.id, session.id, expiresAt);
    });
    return this.toLoginResult(user, pair);
  }

  private async issuePair(db: DB, userId: string, sessionId: string, expiresAt: Date): Promise<TokenPair> {
    const refreshToken = newRefreshToken();
    await db
      .insertInto("refresh_tokens")
      .values({ token_hash: hashRefreshToken(refreshToken), session_id: sessionId, expires_at: expiresAt })
      .execute();
    return {
      access_token: this.tokens.issueAccess(userId, sessionId),
      refresh_token: refreshToken,
      token_type: "Bearer",
      expires_in: this.tokens.accessTtlSeconds,
    };
  }

  private toLoginResult(user: User, pair: TokenPair): LoginResult {
    return { id: user.id, display_name: user.display_name, username: user.username, is_guest: user.is_guest, ...pair };
  }
}
