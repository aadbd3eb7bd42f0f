/** The session's client message: a fresh access token keeps a connection open past the old one's expiry. */
import { clientMessages } from "@streamit/protocol";
import { isAppError } from "../errors.js";
import { defineFeature, entry, type Sender } from "../protocol/feature.js";
import { fail, ok } from "../protocol/results.js";
import type { AuthenticatedUser, AuthService } from "./service.js";

export interface SessionServices {
  auth: AuthService;
  /** The connection now lives as long as `user`'s token (same user, new session and expiry). */
  extend(sender: Sender, user: AuthenticatedUser): void;
}

export const sessionFeature = defineFeature<SessionServices>()("session", {
  REAUTH: entry<SessionServices>()({
    schema: clientMessages.REAUTH,
    who: "member",
    summary:
      "Added: a fresh access token of the same user (from `POST /api/auth/refresh/`), sent before the current one expires: the connection then lives until the new token's expiry instead of closing with 4001 `Token expired`. Answered by REAUTHED (and the ack, with `expires_at`).",
    errors: ["INVALID_TOKEN"],
    async handle({ sender, services, reply }, message) {
      let user: AuthenticatedUser;
      try {
        user = await services.auth.authenticate(message.token);
      } catch (err) {
        if (isAppError(err)) return fail("INVALID_TOKEN", "Invalid or expired token");
        throw err;
      }
      if (user.id !== sender.user.id) return fail("INVALID_TOKEN", "The token belongs to another user");
      services.extend(sender, user);
      const expiresAt = new Date(user.token_expires_at).toISOString();
      reply({ type: "REAUTHED", expires_at: expiresAt });
      return ok({ expires_at: expiresAt });
    },
  }),
});
