/** Roster pacing: cheap rosters go out at once, costly ones (entries × recipients) a bounded number. */
import { describe, expect, it } from "vitest";
import { ROSTER_PACING, rosterPause } from "../../src/realtime/roster-pacing.js";

describe("rosterPause", () => {
  it("never delays small rooms", () => {
    expect(rosterPause(ROSTER_PACING.smallRoom, 0, 0)).toBe(0);
    expect(rosterPause(ROSTER_PACING.smallRoom, ROSTER_PACING.smallRoom, 0)).toBe(0);
    // Few here, many entries: still cheap enough.
    expect(rosterPause(2, 1000, 0)).toBe(0);
  });

  it("spaces big rooms' broadcasts by size, capped", () => {
    expect(rosterPause(200, 0, 0)).toBe(200 * ROSTER_PACING.msPerMember);
    expect(rosterPause(200, 200, 600)).toBe(400);
    expect(rosterPause(200, 200, 5000)).toBe(0);
    expect(rosterPause(100_000, 0, 0)).toBe(ROSTER_PACING.maxPauseMs);
  });

  it("counts every entry a roster carries, not only who is here: 50 connections and 1,000 participants are paced", () => {
    expect(rosterPause(50, 1000, 0)).toBeCloseTo(Math.sqrt(50 * 1000) * ROSTER_PACING.msPerMember);
    expect(rosterPause(10, 1000, 0)).toBeCloseTo(100 * ROSTER_PACING.msPerMember);
  });
});
