/**
 * Time, injected: the sync logic never reads a clock or arms a timer itself, so tests drive it
 * with a simulated clock and the same code runs in browsers and Node.
 */

/** Arms and cancels one-shot timers. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The clocks the SDK reads, in milliseconds. */
export interface Clocks {
  /** Wall clock (epoch ms): `Date.now()`. It may be skewed by seconds and may jump. */
  wall(): number;
  /** Monotonic clock: `performance.now()`. It never jumps; only differences mean anything. */
  mono(): number;
}

export const systemScheduler: Scheduler = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

export const systemClocks: Clocks = {
  wall: () => Date.now(),
  // performance exists in every browser and in Node ≥ 16; Date is the fallback elsewhere.
  mono: typeof performance !== "undefined" ? () => performance.now() : () => Date.now(),
};

/** A repeating timer on a Scheduler; `stop()` cancels it. */
export function every(scheduler: Scheduler, ms: number, fn: () => void): { stop(): void } {
  let handle: unknown;
  let stopped = false;
  const arm = () => {
    handle = scheduler.setTimeout(() => {
      if (stopped) return;
      // Re-armed first: a throwing tick must not end the cadence.
      arm();
      fn();
    }, ms);
  };
  arm();
  return {
    stop() {
      stopped = true;
      scheduler.clearTimeout(handle);
    },
  };
}

/** Resolves after `ms` on `scheduler`. */
export const sleep = (scheduler: Scheduler, ms: number): Promise<void> =>
  new Promise((resolve) => {
    scheduler.setTimeout(resolve, ms);
  });
