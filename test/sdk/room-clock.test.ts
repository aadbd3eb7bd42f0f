/** The room clock: extrapolation, version order, and scheduled transitions (effective_at). */
import { describe, expect, it } from "vitest";
import { type PlaybackState, positionOf, RoomClock } from "../../packages/client/src/room-clock.js";

const T0 = 1_750_000_000_000;
const state = (fields: Partial<PlaybackState>): PlaybackState => ({
  is_playing: true,
  time: 10,
  server_time: T0,
  rate: 1,
  version: 1,
  ...fields,
});

describe("room clock", () => {
  it("advances at the rate while playing and holds while paused", () => {
    const clock = new RoomClock();
    expect(clock.at(T0)).toBeUndefined();
    clock.apply(state({ rate: 1.25 }), T0);
    expect(clock.at(T0 + 4000)).toEqual({ playing: true, position: 15, rate: 1.25, version: 1 });
    clock.apply(state({ is_playing: false, time: 42, version: 2 }), T0 + 5000);
    expect(clock.at(T0 + 60_000)?.position).toBe(42);
    expect(clock.at(T0 + 60_000)?.playing).toBe(false);
  });

  it("ignores older versions and re-anchors the same one", () => {
    const clock = new RoomClock();
    expect(clock.apply(state({ version: 5, time: 100 }), T0)).toBe(true);
    expect(clock.apply(state({ version: 4, time: 3 }), T0)).toBe(false);
    expect(clock.at(T0 + 1000)?.position).toBe(101);
    // A SYNC_CORRECTION: the same state, extrapolated by the server to a later instant.
    expect(clock.apply(state({ version: 5, time: 102, server_time: T0 + 2000 }), T0 + 2000)).toBe(true);
    expect(clock.at(T0 + 3000)?.position).toBe(103);
    expect(clock.version).toBe(5);
  });

  it("holds the previous state until a scheduled transition, then starts from its time at effective_at", () => {
    const clock = new RoomClock();
    clock.apply(state({ is_playing: false, time: 30, version: 1 }), T0);
    // Sent at T0 + 1 s, takes effect at T0 + 3 s: everyone starts playing from 30 together.
    clock.apply(state({ is_playing: true, time: 30, version: 2, server_time: T0 + 1000, effective_at: T0 + 3000 }), T0 + 1000);
    expect(clock.version).toBe(2);
    expect(clock.at(T0 + 2999)).toEqual({ playing: false, position: 30, rate: 1, version: 1 });
    expect(clock.nextTransition(T0 + 2000)).toBe(T0 + 3000);
    expect(clock.at(T0 + 3000)).toEqual({ playing: true, position: 30, rate: 1, version: 2 });
    expect(clock.at(T0 + 5500)?.position).toBe(32.5);
    expect(clock.nextTransition(T0 + 5500)).toBeUndefined();
  });

  it("an immediate newer state cancels what was scheduled; a stale one does not", () => {
    const clock = new RoomClock();
    clock.apply(state({ version: 1, time: 0 }), T0);
    clock.apply(state({ version: 2, time: 50, effective_at: T0 + 5000 }), T0 + 1000);
    expect(clock.apply(state({ version: 1, time: 999 }), T0 + 1500)).toBe(false);
    clock.apply(state({ version: 3, is_playing: false, time: 7, server_time: T0 + 2000 }), T0 + 2000);
    expect(clock.at(T0 + 6000)).toEqual({ playing: false, position: 7, rate: 1, version: 3 });
  });

  it("a newer scheduled state replaces a later one still pending", () => {
    const clock = new RoomClock();
    clock.apply(state({ version: 1, time: 0 }), T0);
    clock.apply(state({ version: 2, time: 50, effective_at: T0 + 8000 }), T0);
    clock.apply(state({ version: 3, time: 20, effective_at: T0 + 4000 }), T0);
    expect(clock.at(T0 + 3000)?.version).toBe(1);
    expect(clock.at(T0 + 4000)?.position).toBe(20);
    expect(clock.at(T0 + 9000)).toEqual({ playing: true, position: 25, rate: 1, version: 3 });
  });

  it("a first state that is scheduled holds its position, paused, until it applies", () => {
    const clock = new RoomClock();
    clock.apply(state({ time: 12, effective_at: T0 + 2000 }), T0);
    expect(clock.at(T0 + 1000)).toMatchObject({ playing: false, position: 12 });
    expect(clock.at(T0 + 3000)).toMatchObject({ playing: true, position: 13 });
  });

  it("positionOf never goes below 0 (a clock slightly behind the anchor)", () => {
    expect(positionOf(state({ time: 0.01 }), T0 - 1000)).toBe(0);
  });
});
