/** The SDK's REST helpers (RoomsRest) against the real server: invites, joining with one, the waiting detail, the skip threshold. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { RoomsRest } from "../../packages/client/src/index.js";
import { startApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const restFor = (token: string) => new RoomsRest({ url: t.baseUrl, getToken: async () => token });

it("a host's invite admits a guest to a password room; listed, revoked, then refused; refusals carry the server's code", async () => {
  const host = await t.api.register("Hana");
  const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
  const hosting = restFor(host.token);
  const invite = await hosting.createInvite(room.room_id, { max_uses: 2 });
  expect(invite).toMatchObject({ max_uses: 2, uses: 0, active: true, token: expect.any(String) });

  const guest = restFor((await t.api.guest("Ira")).token);
  await expect(guest.join(room.code)).rejects.toMatchObject({ name: "RoomError", code: "INVALID_ROOM_PASSWORD" });
  expect(await guest.join(room.code, { invite: invite.token })).toMatchObject({
    room_id: room.room_id,
    status: "APPROVED",
    is_host: false,
  });
  expect(await guest.detail(room.code)).toMatchObject({ participant_status: "APPROVED", host: "Hana" });
  expect((await hosting.invites(room.room_id))[0]).toMatchObject({ invite_id: invite.invite_id, uses: 1 });

  expect(await hosting.revokeInvite(room.room_id, invite.invite_id)).toMatchObject({ revoked: true });
  const late = restFor((await t.api.guest("Jo")).token);
  await expect(late.join(room.code, { invite: invite.token })).rejects.toMatchObject({ code: "INVALID_INVITE" });
  await expect(guest.createInvite(room.room_id)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
});

it("a user waiting for approval reads the reduced detail; the host sets the skip threshold", async () => {
  const host = await t.api.register("Kai");
  const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
  const waiting = restFor((await t.api.guest("Lu")).token);
  expect(await waiting.join(room.code)).toMatchObject({ status: "PENDING" });
  const detail = await waiting.detail(room.code);
  expect(detail).toMatchObject({ participant_status: "PENDING", host: "Kai", entry_mode: "APPROVAL", is_host: false });
  expect(detail).not.toHaveProperty("video_id");
  expect(await restFor(host.token).setSkipThreshold(room.room_id, 75)).toEqual({ room_id: room.room_id, skip_threshold_percent: 75 });
  await expect(restFor(host.token).setSkipThreshold(room.room_id, 0)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
});
