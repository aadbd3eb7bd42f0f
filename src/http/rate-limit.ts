/** Per-client request budgets: a plain one per route, and the budget of unknown room codes. */
import type { FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { errors, isAppError } from "../errors.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";

/** A per-client request budget for a route (429 with Retry-After once spent). */
export function perClientBudget(limiter: AttemptLimiter, name: string, rule: LimitRule): onRequestAsyncHookHandler {
  return async (request) => {
    const verdict = await limiter.hit(`route:${name}:${request.ip}`, rule);
    if (!verdict.allowed) throw errors.rateLimited(verdict.retryAfterSeconds, "Too many requests. Please slow down.");
  };
}

/** Runs one room-code lookup for `request` under its address's budget of unknown codes. */
export type CodeLookup = <T>(request: FastifyRequest, lookup: () => Promise<T>) => Promise<T>;

/**
 * The budget of unknown room codes per client address, shared by every route that takes a code
 * in its path: without it, 404 (no such room) against 403/200 (a room) tells a prober which codes
 * exist. Each lookup first counts one attempt, atomically (concurrent probes cannot all slip
 * through), and gives it back once the code turned out to exist, so only misses are kept. Once
 * the budget is spent, every lookup from that address, real codes included, gets 429 with
 * Retry-After until the window ends: a 429-or-403 difference would still be an oracle.
 */
export function codeLookupBudget(limiter: AttemptLimiter, rule: LimitRule): CodeLookup {
  return async (request, lookup) => {
    const key = `room-code-miss:${request.ip}`;
    const verdict = await limiter.hit(key, rule);
    if (!verdict.allowed) throw errors.rateLimited(verdict.retryAfterSeconds, "Too many unknown room codes. Please wait.");
    let missed = false;
    try {
      return await lookup();
    } catch (err) {
      missed = isAppError(err) && err.code === "ROOM_NOT_FOUND";
      throw err;
    } finally {
      // A failed give-back only leaves the attempt counted: the caller's answer stands.
      if (!missed) await limiter.refund(key).catch((err: unknown) => request.log.warn({ err }, "room-code budget refund failed"));
    }
  };
}
