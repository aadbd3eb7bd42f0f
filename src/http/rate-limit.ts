/** A per-client request budget for a route (429 with Retry-After once spent). */
import type { onRequestAsyncHookHandler } from "fastify";
import { errors } from "../errors.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";

export function perClientBudget(limiter: AttemptLimiter, name: string, rule: LimitRule): onRequestAsyncHookHandler {
  return async (request) => {
    const verdict = await limiter.hit(`route:${name}:${request.ip}`, rule);
    if (!verdict.allowed) throw errors.rateLimited(verdict.retryAfterSeconds, "Too many requests. Please slow down.");
  };
}
