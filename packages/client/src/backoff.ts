/**
 * Reconnect delays: exponential with full jitter (a uniformly random delay up to the
 * exponential bound). When a server restarts, every client reconnects at once; the jitter
 * spreads them over the whole window instead of sending them back in synchronized waves.
 */

export interface BackoffOptions {
  /** The first bound (ms). Default 500. */
  baseMs?: number;
  /** The largest bound (ms). Default 15 000. */
  capMs?: number;
  /** A number in [0, 1). Default Math.random. */
  random?: () => number;
}

/** The delay before attempt `attempt` (0 = the first retry): uniform in [0, min(cap, base × 2^attempt)). */
export function fullJitter(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, capMs = 15_000, random = Math.random } = options;
  const bound = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * bound);
}

/** Successive delays; `reset()` after a success starts over. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = {}) {}

  /** The next delay (ms). */
  next(): number {
    const delay = fullJitter(this.attempt, this.options);
    // Capped: 2^attempt must not overflow into Infinity after a long outage.
    if (this.attempt < 32) this.attempt += 1;
    return delay;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
