/** Roster pacing: small rooms get every roster at once, big rooms a bounded number. */
import { describe, expect, it } from "vitest";
import { ROSTER_PACING, rosterPause } from "../../src/realtime/hub.js";

describe("rosterPause", () => {
  it("never delays small rooms", () => {
    expect(rosterPause(ROSTER_PACING.smallRoom, 0)).toBe(0);
  });

  it("spaces big rooms' broadcasts by size, capped", () => {
    expect(rosterPause(200, 0)).toBe(200 * ROSTER_PACING.msPerMember);
    expect(rosterPause(200, 600)).toBe(400);
    expect(rosterPause(200, 5000)).toBe(0);
    expect(rosterPause(100_000, 0)).toBe(ROSTER_PACING.maxPauseMs);
  });
});
