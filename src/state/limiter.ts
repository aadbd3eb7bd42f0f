/**
 * Fixed-window attempt counters, shared across processes when Redis is configured.
 * Used for login and room-password brute-force protection and per-client request budgets.
 */
import type { RedisClient } from "../redis.js";

export interface LimitRule {
  /** Attempts allowed per window. */
  limit: number;
  windowSeconds: number;
}

export interface LimitVerdict {
  allowed: boolean;
  /** Seconds until the window resets (0 when allowed and nothing was counted). */
  retryAfterSeconds: number;
}

export interface AttemptLimiter {
  /** Counts one attempt against `key` and says whether it is within the rule. */
  hit(key: string, rule: LimitRule): Promise<LimitVerdict>;
  /** Says whether `key` is already over the rule, without counting. */
  peek(key: string, rule: LimitRule): Promise<LimitVerdict>;
  reset(key: string): Promise<void>;
}

export class MemoryLimiter implements AttemptLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
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
  }

  private sweepSometimes(): void {
    if (++this.operations % 1000 !== 0) return;
    const now = Date.now();
    for (const [key, entry] of this.windows) if (entry.resetAt <= now) this.windows.delete(key);
  }
}

function verdict(count: number, limit: number, msLeft: number): LimitVerdict {
  const allowed = count <= limit;
  return { allowed, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(msLeft / 1000)) };
}

// INCR and set the window's expiry in one atomic step; returns [count, ms left].
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

export class RedisLimiter implements AttemptLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async hit(key: string, rule: LimitRule): Promise<LimitVerdict> {
    const [count, ttl] = (await this.redis.eval(HIT_SCRIPT, {
      keys: [this.key(key)],
      arguments: [String(rule.windowSeconds * 1000)],
    })) as [number, number];
    return verdict(count, rule.limit, ttl);
  }

  async peek(key: string, rule: LimitRule): Promise<LimitVerdict> {
    const [raw, ttl] = await Promise.all([this.redis.get(this.key(key)), this.redis.pTTL(this.key(key))]);
    if (raw === null || ttl <= 0) return { allowed: true, retryAfterSeconds: 0 };
    return verdict(Number(raw) + 1, rule.limit, ttl);
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }

  private key(key: string): string {
    return `${this.prefix}limit:${key}`;
  }
}
