/**
 * Simulated time for the SDK's pure logic: monotonic and wall clocks and a scheduler that only
 * move when the test advances them (timers fire in order, each followed by the promise work it
 * started), so a test of seconds of playback runs in milliseconds and the same way every time.
 */
import type { Clocks, Scheduler } from "../../../packages/client/src/timers.js";

/** The page's wall clock at mono 0 (an arbitrary epoch ms). */
export const WALL_EPOCH = 1_750_000_000_000;

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets every pending promise continuation run (a macrotask turn drains the microtask queue). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeTime implements Clocks, Scheduler {
  private t = 0;
  /** Added to the wall clock: a page clock that is off, or stepped. */
  wallSkew = 0;
  private timers: Timer[] = [];
  private nextId = 1;

  mono = (): number => this.t;
  wall = (): number => WALL_EPOCH + this.t + this.wallSkew;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const timer = { id: this.nextId++, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  };

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing each due timer at its own instant. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.t = due.at;
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  /** Advances in `stepMs` steps until `done()` holds; throws after `maxMs`. */
  async until(done: () => boolean, maxMs: number, stepMs = 10): Promise<number> {
    const start = this.t;
    while (!done()) {
      if (this.t - start > maxMs) throw new Error(`condition not met within ${maxMs} simulated ms`);
      await this.advance(stepMs);
    }
    return this.t - start;
  }
}
