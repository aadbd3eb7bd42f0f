/**
 * Lock-step on real players, small: the sync benchmark (test/bench/sync) with the SDK client
 * kind, one host and two viewers in headless Chromium (20 and 50 ms round trips, page clocks
 * 3 s and −2 s off), the script's phases at 0.4× (about 20 s). The bounds are generous (the bench
 * measures the real figures): a regression in the SDK's clock or ladder, or in the server's
 * scheduled starts, breaks them by far.
 *
 * It starts its own embedded server, so it runs in one project only; Chromium and ffmpeg are
 * Debian packages `.ci/run` installs.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runSync, VIEWERS } from "../bench/sync/run-sync.js";

const CHROMIUM = process.env.BENCH_CHROMIUM ?? "/usr/bin/chromium";
const FFMPEG = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].some((p) => existsSync(p));
const embedded = process.env.STREAMIT_TEST_BACKEND === "embedded";

describe.runIf(embedded && existsSync(CHROMIUM) && FFMPEG)("lock-step in Chromium (SDK, 2 viewers)", () => {
  it("keeps both players within 250 ms of the room, starts them together and converges after a seek", { timeout: 180_000 }, async () => {
    const [row] = await runSync({ kinds: ["sdk"], viewers: VIEWERS.slice(0, 2), scale: 0.4 });
    const m = row!.metrics;
    expect(row!.notes.filter((n) => n.startsWith("page error"))).toEqual([]);
    expect(m.steadySamples).toBeGreaterThan(50);
    expect(m.driftP95Ms).toBeLessThanOrEqual(250);
    expect(m.startSpreadsMs.length).toBeGreaterThan(0);
    expect(Math.max(...m.startSpreadsMs)).toBeLessThanOrEqual(250);
    for (const seek of m.seek) expect(seek.ms).not.toBeNull();
    expect(m.seek[0]!.ms).toBeLessThanOrEqual(2000);
  });
});
