/** Bearer-token authentication for routes: `required` refuses anonymous calls, `optional` does not. */
import type { FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import type { AuthenticatedUser, AuthService } from "../auth/service.js";
import { AppError } from "../errors.js";

declare module "fastify" {
  interface FastifyRequest {
    user: AuthenticatedUser | null;
  }
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

export interface AuthGuards {
  required: onRequestAsyncHookHandler;
  optional: onRequestAsyncHookHandler;
}

export function createAuthGuards(auth: AuthService): AuthGuards {
  return {
    async required(request) {
      const token = bearerToken(request.headers.authorization);
      if (!token) throw new AppError("AUTH_REQUIRED", "Authentication credentials were not provided.");
      request.user = await auth.authenticate(token);
    },
    // Public endpoints ignore a stale token instead of failing (clients of the original never refresh).
    async optional(request) {
      const token = bearerToken(request.headers.authorization);
      request.user = token ? await auth.authenticate(token).catch(() => null) : null;
    },
  };
}

/** The authenticated user of a request that went through `required`. */
export function currentUser(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw new AppError("AUTH_REQUIRED", "Authentication credentials were not provided.");
  return request.user;
}
