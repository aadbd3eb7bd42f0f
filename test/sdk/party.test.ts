/** The SDK's party helpers against the real server: setPartyTime(), partyStartsAt, the countdown and the `party` event. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { guest, party } from "../helpers/party.js";
import { open, recorder } from "./helpers/rooms.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

it("the host sets the party time, members see it and count down; a viewer may not set it; clearing ends it", async () => {
  const p = await party(t, { members: { viewer: guest("Pal") } });
  const host = open({ url: t.baseUrl, code: p.room.code, token: p.host.token });
  const viewer = open({ url: t.baseUrl, code: p.room.code, token: p.viewer.token });
  const seen = recorder(viewer);
  await Promise.all([host.ready, viewer.ready]);
  expect(viewer.partyStartsAt).toBeNull();
  expect(viewer.partyCountdownMs()).toBeUndefined();

  const startsAt = new Date(Date.now() + 3_600_000);
  expect(await host.setPartyTime(startsAt)).toBe(startsAt.toISOString());
  const [at, reason] = await seen.next("party");
  expect([at?.toISOString(), reason]).toEqual([startsAt.toISOString(), "scheduled"]);
  expect(viewer.partyStartsAt?.getTime()).toBe(startsAt.getTime());
  const left = viewer.partyCountdownMs()!;
  expect(left).toBeGreaterThan(3_500_000);
  expect(left).toBeLessThanOrEqual(3_600_000);

  await expect(viewer.setPartyTime(new Date(Date.now() + 60_000))).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  await expect(host.setPartyTime(new Date(Date.now() - 1000))).rejects.toMatchObject({ code: "VALIDATION_FAILED" });

  expect(await host.setPartyTime(null)).toBeNull();
  expect(await seen.next("party")).toEqual([null, "cleared"]);
  expect(viewer.partyStartsAt).toBeNull();
  host.close();
  viewer.close();
});
