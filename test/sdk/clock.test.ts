/**
 * The server clock estimate on simulated time and a simulated network: the offset absorbs a
 * skewed page clock, queueing delays are filtered out by keeping the lowest round trips, the
 * error bound holds, and re-estimation happens periodically, when the wall clock is stepped,
 * and not with a worse burst.
 */
import { describe, expect, it } from "vitest";
import { estimateFrom, ServerClock, type ServerClockOptions } from "../../packages/client/src/clock.js";
import { FakeTime, WALL_EPOCH } from "./helpers/fake-time.js";

/** The server's clock: mono + this (its own epoch, off from the page's). */
const SERVER_EPOCH = WALL_EPOCH + 1_234.5;

/**
 * A TIME_SYNC round trip on FakeTime: `up(i)` and `down(i)` are the one-way delays of ping i
 * (ms); the server reads its clock when the ping arrives. `lost(i)`: no answer (rejects).
 */
function network(time: FakeTime, opts: { up: (i: number) => number; down: (i: number) => number; lost?: (i: number) => boolean }) {
  let i = 0;
  const ping = (_clientTs: number) =>
    new Promise<number>((resolve, reject) => {
      const n = i++;
      if (opts.lost?.(n)) {
        time.setTimeout(() => reject(new Error("timeout")), 2000);
        return;
      }
      time.setTimeout(() => {
        const serverTs = time.mono() + SERVER_EPOCH;
        time.setTimeout(() => resolve(serverTs), opts.down(n));
      }, opts.up(n));
    });
  return {
    ping,
    get count() {
      return i;
    },
  };
}

function clockOn(time: FakeTime, ping: ServerClockOptions["ping"], options: Partial<ServerClockOptions> = {}) {
  return new ServerClock({ ping, clocks: time, scheduler: time, ...options });
}

/** The true offset between the server's clock and the page's wall clock. */
const trueOffset = (time: FakeTime) => SERVER_EPOCH - WALL_EPOCH - time.wallSkew;

describe("server clock", () => {
  it("estimates the offset exactly on a symmetric link, with an error bound of half the RTT", async () => {
    const time = new FakeTime();
    const net = network(time, { up: () => 20, down: () => 20 });
    const clock = clockOn(time, net.ping);
    expect(clock.synced).toBe(false);
    let bursts = 0;
    clock.on("sync", () => (bursts += 1));
    clock.start();
    // Usable after the first answer (provisionally), announced once the burst is complete.
    await time.until(() => clock.synced, 5000);
    // The first burst goes back to back: the second ping may be out already.
    expect(net.count).toBeLessThanOrEqual(2);
    expect(clock.offset).toBeCloseTo(trueOffset(time), 6);
    await time.until(() => bursts === 1, 5000);
    expect(net.count).toBe(8);
    expect(clock.offset).toBeCloseTo(trueOffset(time), 6);
    expect(clock.rtt).toBe(40);
    expect(clock.errorBound).toBeCloseTo(20, 1);
    expect(clock.serverNow()).toBeCloseTo(time.mono() + SERVER_EPOCH, 6);
    clock.stop();
  });

  it("absorbs a page clock that is seconds off", async () => {
    const time = new FakeTime();
    time.wallSkew = -7_500; // the page thinks it is 7.5 s earlier
    const net = network(time, { up: () => 15, down: () => 25 });
    const clock = clockOn(time, net.ping);
    clock.start();
    await time.until(() => clock.synced, 5000);
    expect(Math.abs(clock.serverNow() - (time.mono() + SERVER_EPOCH))).toBeLessThanOrEqual(clock.errorBound);
    expect(clock.offset).toBeGreaterThan(7_000);
    clock.stop();
  });

  it("keeps the lowest-RTT samples: queueing spikes do not move the estimate", async () => {
    const time = new FakeTime();
    // Samples 0, 3 and 6 are clean; the others sit in an uplink queue (a one-way delay, the worst case).
    const clean = (i: number) => i % 3 === 0;
    const net = network(time, { up: (i) => (clean(i) ? 10 : 10 + 150 + i * 37), down: () => 12 });
    const clock = clockOn(time, net.ping);
    clock.start();
    await time.until(() => clock.synced, 10_000);
    expect(clock.rtt).toBe(22);
    expect(Math.abs(clock.offset - trueOffset(time))).toBeLessThanOrEqual(clock.errorBound);
    clock.stop();
  });

  it("ignores lost pings, and retries soon when a whole burst is lost", async () => {
    const time = new FakeTime();
    let down = true;
    const net = network(time, { up: () => 10, down: () => 10, lost: () => down });
    const clock = clockOn(time, net.ping, { retryMs: 1000 });
    clock.start();
    await time.until(() => net.count === 8, 30_000, 100);
    await time.advance(2_100); // the last ping times out
    expect(clock.synced).toBe(false);
    down = false;
    await time.until(() => clock.synced, 5000);
    expect(clock.offset).toBeCloseTo(trueOffset(time), 6);
    clock.stop();
  });

  it("re-estimates every resyncMs, keeping the old estimate when the new burst is worse", async () => {
    const time = new FakeTime();
    let delay = 10;
    const net = network(time, { up: () => delay, down: () => delay });
    const clock = clockOn(time, net.ping, { resyncMs: 30_000 });
    const estimates: number[] = [];
    clock.on("sync", (e) => estimates.push(e.rtt));
    clock.start();
    await time.until(() => clock.synced, 5000);
    delay = 200; // congestion: a burst now measures worse
    await time.until(() => net.count === 16, 40_000, 100);
    await time.advance(1000);
    expect(clock.rtt).toBe(20);
    expect(estimates).toEqual([20]);
    delay = 5;
    await time.until(() => net.count === 24, 40_000, 100);
    await time.advance(1000);
    expect(estimates).toEqual([20, 10]);
    clock.stop();
  });

  it("a replacing resync (reconnect, page visible) takes the new estimate even when worse", async () => {
    const time = new FakeTime();
    let delay = 10;
    const net = network(time, { up: () => delay, down: () => delay });
    const clock = clockOn(time, net.ping);
    const announced = new Promise((resolve) => clock.on("sync", resolve));
    clock.start();
    await time.until(() => clock.synced, 5000);
    await Promise.race([announced, time.advance(5000)]);
    delay = 100;
    const done = clock.resync(true);
    await time.until(() => net.count === 16, 10_000);
    await time.advance(500); // the last answer
    await done;
    expect(clock.rtt).toBe(200);
    clock.stop();
  });

  it("notices a stepped wall clock on check() and estimates again", async () => {
    const time = new FakeTime();
    const net = network(time, { up: () => 10, down: () => 10 });
    const clock = clockOn(time, net.ping);
    clock.start();
    await time.until(() => clock.synced, 5000);
    await time.advance(1000);
    clock.check();
    expect(net.count).toBe(8); // nothing moved
    time.wallSkew += 2_000; // NTP stepped the page clock forward
    expect(Math.abs(clock.serverNow() - (time.mono() + SERVER_EPOCH))).toBeGreaterThan(1_900);
    clock.check();
    await time.until(() => net.count === 16, 5000);
    await time.advance(100);
    expect(Math.abs(clock.serverNow() - (time.mono() + SERVER_EPOCH))).toBeLessThanOrEqual(clock.errorBound);
    clock.stop();
  });

  it("stop() cancels the periodic re-estimation", async () => {
    const time = new FakeTime();
    const net = network(time, { up: () => 10, down: () => 10 });
    const clock = clockOn(time, net.ping, { resyncMs: 1000 });
    clock.start();
    await time.until(() => clock.synced, 5000);
    clock.stop();
    await time.advance(10_000);
    expect(net.count).toBe(8);
    expect(time.pending).toBe(0);
  });

  it("estimateFrom averages the best samples and bounds the error by half the best RTT", () => {
    const e = estimateFrom(
      [
        { rtt: 100, offset: 500 },
        { rtt: 20, offset: 10 },
        { rtt: 22, offset: 12 },
        { rtt: 24, offset: 14 },
        { rtt: 300, offset: -900 },
      ],
      3,
      0,
    );
    expect(e).toEqual({ offset: 12, errorBound: 10, rtt: 20, at: 0 });
    expect(estimateFrom([], 3, 0)).toBeUndefined();
  });
});
