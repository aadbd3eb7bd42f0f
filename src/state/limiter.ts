/**
 * Fixed-window attempt counters, shared across processes when Redis is configured.
 * Used for login and room-password brute-force protection and per-client request budgets.
 *
 * Escalating rules (brute force): the attempt that spends a window's budget is a strike, and
 * the key stays locked for `windowSeconds × 2^(strikes − 1)`, capped at `maxLockSeconds`.
 * Strikes are remembered for a day (or the cap, if longer) after the last one, so a patient
 * guesser waits 15 min, then 30, 60, … while a user who mistypes once a week never notices.
 */
import type { RedisClient } from "../redis.js";

export interface LimitRule {
  /** Attempts allowed per window. */
  limit: number;
  windowSeconds: number;
  /** Lock out for longer on each repeated exhaustion of the budget (see above). */
  escalate?: { maxLockSeconds: number };
}

const STRIKE_MEMORY_SECONDS = 24 * 60 * 60;

/** The longest lock of a rule (never shorter than its window). */
function maxLockSeconds(rule: LimitRule): number {
  return Math.max(rule.windowSeconds, rule.escalate?.maxLockSeconds ?? rule.windowSeconds);
}

/** Seconds a key stays locked after its `strikes`-th exhaustion. */
function lockSeconds(rule: LimitRule, strikes: number): number {
  return Math.min(maxLockSeconds(rule), rule.windowSeconds * 2 ** Math.min(strikes - 1, 30));
}

function strikeMemorySeconds(rule: LimitRule): number {
  return Math.max(STRIKE_MEMORY_SECONDS, rule.escalate?.maxLockSeconds ?? 0);
}

export interface LimitVerdict {
  allowed: boolean;
  /** Seconds until the window resets (0 when allowed and nothing was counted). */
  retryAfterSeconds: number;
}

export interface AttemptLimiter {
  /** Counts one attempt against `key` and says whether it is within the rule (the attempt that
   *  spends the budget of an escalating rule is a strike and locks the key, see above). */
  hit(key: string, rule: LimitRule): Promise<LimitVerdict>;
  /** Says whether `key` is already over the rule, without counting. */
  peek(key: string, rule: LimitRule): Promise<LimitVerdict>;
  /** Forgets `key`'s window and strikes (e.g. after a successful login). */
  reset(key: string): Promise<void>;
  /** Gives back one attempt counted by `hit` in `key`'s live window (never below zero; no-op when
   *  the window has ended). For budgets that count every attempt up front, atomically, and only
   *  keep the ones that turned out to be misses. Strikes and locks are not undone. */
  refund(key: string): Promise<void>;
}

export class MemoryLimiter implements AttemptLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly strikes = new Map<string, { count: number; forgetAt: number }>();
  private operations = 0;

  async hit(key: string, rule: LimitRule): Promise<LimitVerdict> {
    this.sweepSometimes();
    const now = Date.now();
    let entry = this.windows.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + rule.windowSeconds * 1000 };
      this.windows.set(key, entry);
    }
    entry.count += 1;
    if (rule.escalate && entry.count === rule.limit) {
      const previous = this.strikes.get(key);
      const count = previous && previous.forgetAt > now ? previous.count + 1 : 1;
      this.strikes.set(key, { count, forgetAt: now + strikeMemorySeconds(rule) * 1000 });
      entry.resetAt = Math.max(entry.resetAt, now + lockSeconds(rule, count) * 1000);
    }
    return verdict(entry.count, rule.limit, entry.resetAt - now);
  }

  async peek(key: string, rule: LimitRule): Promise<LimitVerdict> {
    const now = Date.now();
    const entry = this.windows.get(key);
    if (!entry || entry.resetAt <= now) return { allowed: true, retryAfterSeconds: 0 };
    return verdict(entry.count + 1, rule.limit, entry.resetAt - now);
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
    this.strikes.delete(key);
  }

  async refund(key: string): Promise<void> {
    const entry = this.windows.get(key);
    if (entry && entry.resetAt > Date.now() && entry.count > 0) entry.count -= 1;
  }

  private sweepSometimes(): void {
    if (++this.operations % 1000 !== 0) return;
    const now = Date.now();
    for (const [key, entry] of this.windows) if (entry.resetAt <= now) this.windows.delete(key);
    for (const [key, entry] of this.strikes) if (entry.forgetAt <= now) this.strikes.delete(key);
  }
}

function verdict(count: number, limit: number, msLeft: number): LimitVerdict {
  const allowed = count <= limit;
  return { allowed, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(msLeft / 1000)) };
}

// INCR and set the window's expiry in one atomic step; returns [count, ms left].
// Escalating rules (ARGV[2] = limit, ARGV[3] = window ms, ARGV[4] = max lock ms, ARGV[5] = strike
// memory ms): the hit that reaches the limit counts a strike in KEYS[2] and extends the lock.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
if ARGV[2] and count == tonumber(ARGV[2]) then
  local strikes = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  local lock = math.floor(math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ math.min(strikes - 1, 30)))
  if lock > ttl then redis.call('PEXPIRE', KEYS[1], lock); ttl = lock end
end
return {count, ttl}
`;

// DECR only a live window's count that is above zero (a missing or expired key stays missing:
// no window without an expiry, no negative count). DECR keeps the key's expiry.
const REFUND_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count and count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`;

export class RedisLimiter implements AttemptLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async hit(key: string, rule: LimitRule): Promise<LimitVerdict> {
    const escalation = rule.escalate
      ? [rule.limit, rule.windowSeconds * 1000, maxLockSeconds(rule) * 1000, strikeMemorySeconds(rule) * 1000].map(String)
      : [];
    const [count, ttl] = (await this.redis.eval(HIT_SCRIPT, {
      keys: [this.key(key), this.key(`${key}:strikes`)],
      arguments: [String(rule.windowSeconds * 1000), ...escalation],
    })) as [number, number];
    return verdict(count, rule.limit, ttl);
  }

  async peek(key: string, rule: LimitRule): Promise<LimitVerdict> {
    const [raw, ttl] = await Promise.all([this.redis.get(this.key(key)), this.redis.pTTL(this.key(key))]);
    if (raw === null || ttl <= 0) return { allowed: true, retryAfterSeconds: 0 };
    return verdict(Number(raw) + 1, rule.limit, ttl);
  }

  async reset(key: string): Promise<void> {
    await this.redis.del([this.key(key), this.key(`${key}:strikes`)]);
  }

  async refund(key: string): Promise<void> {
    await this.redis.eval(REFUND_SCRIPT, { keys: [this.key(key)], arguments: [] });
  }

  private key(key: string): string {
    return `${this.prefix}limit:${key}`;
  }
}
