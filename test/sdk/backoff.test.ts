/** Reconnect delays: full jitter under an exponential bound, capped, reset after a success. */
import { describe, expect, it } from "vitest";
import { Backoff, fullJitter } from "../../packages/client/src/backoff.js";

describe("backoff", () => {
  it("draws uniformly under base × 2^attempt, capped", () => {
    const top = () => 0.999_999;
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => fullJitter(a, { random: top }))).toEqual([499, 999, 1999, 3999, 7999, 14_999, 14_999]);
    expect(fullJitter(3, { random: () => 0 })).toBe(0);
    expect(fullJitter(2, { random: () => 0.5, baseMs: 100, capMs: 1000 })).toBe(200);
  });

  it("spreads clients over the window instead of sending them back together", () => {
    // mulberry32: a seeded generator, so the spread is the same every run.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const delays = Array.from({ length: 200 }, () => fullJitter(4, { random }));
    expect(Math.min(...delays)).toBeLessThan(1000);
    expect(Math.max(...delays)).toBeGreaterThan(7000);
    expect(new Set(delays.map((d) => Math.floor(d / 1000))).size).toBe(8);
  });

  it("grows per attempt and starts over after reset(); never overflows", () => {
    const backoff = new Backoff({ random: () => 0.999_999 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([499, 999, 1999]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(499);
    for (let i = 0; i < 2000; i += 1) backoff.next();
    expect(backoff.next()).toBe(14_999);
  });
});
