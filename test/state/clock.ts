/** Waiting on the clock for the state contract suites: a condition polled, never a fixed sleep. */
import { vi } from "vitest";

/** Resolves once Date.now() is past `epochMs` (fails after `timeout` ms if it never gets there). */
export async function clockPasses(epochMs: number, timeout = 5000): Promise<void> {
  await vi.waitFor(
    () => {
      const now = Date.now();
      if (now <= epochMs) throw new Error(`the clock is at ${now}, waiting for ${epochMs}`);
    },
    { timeout, interval: 20 },
  );
}
