/**
 * Invite links: a host's expiring, limited-use tokens that admit to a password or approval room
 * without the password or the approval; revocable; every create, use and revoke in the timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";
import { rawClient, sioClient } from "./helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ APPROVAL_WAIT_SECONDS: "10" });
});
afterAll(() => t?.stop());

async function approvalRoom() {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
  return { host, room };
}
const invite = async (token: string, body: Record<string, unknown>) => {
  const res = await t.api.post("/api/rooms/invites/", body, { token });
  expect(res.status, res.text).toBe(201);
  return res.body as {
    invite_id: string;
    token: string;
    code: string;
    max_uses: number;
    uses: number;
    expires_at: string;
    active: boolean;
  };
};
const joinWith = (token: string, code: string, inviteToken: string, password?: string) =>
  t.api.post("/api/rooms/join/", { code, invite: inviteToken, ...(password ? { password } : {}) }, { token });
const timeline = async (roomId: string) =>
  (
    await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "actor_id", "data"])
      .where("room_id", "=", roomId)
      .where("event", "like", "invite.%")
      .orderBy("seq")
      .execute()
  ).map((e) => ({ event: e.event, actor_id: e.actor_id, data: e.data }));

describe("invite links", () => {
  it("admit to an approval room without the approval: the socket joins at once; the use is counted and in the timeline", async () => {
    const { host, room } = await approvalRoom();
    const made = await invite(host.token, { room_id: room.room_id, max_uses: 3, expires_in_seconds: 3600 });
    expect(made).toMatchObject({ code: room.code, max_uses: 3, uses: 0, active: true, revoked_at: null });
    expect(made.token).toMatch(/^[\w-]{32}$/);
    expect(Date.parse(made.expires_at) - Date.now()).toBeGreaterThan(3590_000);

    const friend = await t.api.guest("Friend");
    const joined = await joinWith(friend.token, room.code, made.token);
    expect(joined.status).toBe(200);
    expect(joined.body).toEqual({ room_id: room.room_id, code: room.code, status: "APPROVED", is_host: false });
    const client = sioClient(t.baseUrl, room.code, friend.token);
    expect((await client.drainJoin()).map((m) => m.type).sort()).toEqual(["CHAT_HISTORY", "PLAYBACK_STATE", "ROOM_PARTICIPANTS"]);

    const [listed] = (await t.api.get(`/api/rooms/invites/?room_id=${room.room_id}`, { token: host.token })).body;
    expect(listed).toMatchObject({ invite_id: made.invite_id, uses: 1, active: true });
    expect(listed).not.toHaveProperty("token");
    // Following the link again as a member spends nothing.
    expect((await joinWith(friend.token, room.code, made.token)).body.status).toBe("APPROVED");
    expect((await t.api.get(`/api/rooms/invites/?room_id=${room.room_id}`, { token: host.token })).body[0].uses).toBe(1);
    expect(await timeline(room.room_id)).toEqual([
      { event: "invite.created", actor_id: host.id, data: { invite_id: made.invite_id, max_uses: 3, expires_at: made.expires_at } },
      { event: "invite.used", actor_id: friend.id, data: { invite_id: made.invite_id } },
    ]);
  });

  it("admit to a password room without the password; a wrong password beside a good invite does not matter", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
    const made = await invite(host.token, { room_id: room.room_id });
    expect(made).toMatchObject({ max_uses: 10 });
    const friend = await t.api.register();
    expect((await joinWith(friend.token, room.code, made.token, "wrong-password")).body.status).toBe("APPROVED");
    const other = await t.api.register();
    expect((await t.api.join(other.token, room.code)).body.code).toBe("INVALID_ROOM_PASSWORD");
  });

  it("approve a pending request, and the request's waiting connection goes in", async () => {
    const { host, room } = await approvalRoom();
    const asker = await t.api.guest("Asker");
    expect((await t.api.join(asker.token, room.code)).body.status).toBe("PENDING");
    const waiting = rawClient(t.baseUrl, room.code, asker.token, { query: `?token=${encodeURIComponent(asker.token)}&wait=1` });
    await waiting.waitFor("JOIN_PENDING");
    const made = await invite(host.token, { room_id: room.room_id });
    expect((await joinWith(asker.token, room.code, made.token)).body.status).toBe("APPROVED");
    await waiting.waitFor("CHAT_HISTORY");
    const events = await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "data"])
      .where("room_id", "=", room.room_id)
      .where("event", "=", "participant.approved")
      .execute();
    expect(events).toEqual([{ event: "participant.approved", data: { user_id: asker.id, invite_id: made.invite_id } }]);
  });

  it("are refused once used up, even when joiners race for the last uses", async () => {
    const { host, room } = await approvalRoom();
    const made = await invite(host.token, { room_id: room.room_id, max_uses: 2 });
    const joiners = await Promise.all(Array.from({ length: 6 }, (_, i) => t.api.guest(`Racer${i}`)));
    const answers = await Promise.all(joiners.map((j) => joinWith(j.token, room.code, made.token)));
    expect(answers.filter((a) => a.status === 200 && a.body.status === "APPROVED")).toHaveLength(2);
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: "INVALID_INVITE", error: expect.stringMatching(/used up/) });
    }
    const approved = await t.app.database.db
      .selectFrom("room_participants")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("room_id", "=", room.room_id)
      .where("status", "=", "APPROVED")
      .executeTakeFirstOrThrow();
    expect(Number(approved.n)).toBe(3); // the host and the two who got a use
    const [listed] = (await t.api.get(`/api/rooms/invites/?room_id=${room.room_id}`, { token: host.token })).body;
    expect(listed).toMatchObject({ uses: 2, active: false });
  });

  it("are refused once revoked or expired, and for another room; revoking twice is harmless", async () => {
    const { host, room } = await approvalRoom();
    const revoked = await invite(host.token, { room_id: room.room_id });
    const expired = await invite(host.token, { room_id: room.room_id });
    const elsewhere = await approvalRoom();
    const foreign = await invite(elsewhere.host.token, { room_id: elsewhere.room.room_id });

    const first = await t.api.post(
      "/api/rooms/invites/revoke/",
      { room_id: room.room_id, invite_id: revoked.invite_id },
      { token: host.token },
    );
    expect(first.body).toMatchObject({
      revoked: true,
      invite: { invite_id: revoked.invite_id, active: false, revoked_at: expect.any(String) },
    });
    const again = await t.api.post(
      "/api/rooms/invites/revoke/",
      { room_id: room.room_id, invite_id: revoked.invite_id },
      { token: host.token },
    );
    expect(again.body.invite.revoked_at).toBe(first.body.invite.revoked_at);
    await t.app.database.db
      .updateTable("room_invites")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("id", "=", expired.invite_id)
      .execute();

    const visitor = await t.api.guest("Visitor");
    for (const token of [revoked.token, expired.token, foreign.token, "not-a-token"]) {
      const res = await joinWith(visitor.token, room.code, token);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("INVALID_INVITE");
    }
    // Nothing was admitted: no participant row, no use counted.
    expect(await t.app.database.db.selectFrom("room_participants").select("status").where("user_id", "=", visitor.id).execute()).toEqual(
      [],
    );
    const revokes = (await timeline(room.room_id)).filter((e) => e.event === "invite.revoked");
    expect(revokes).toEqual([{ event: "invite.revoked", actor_id: host.id, data: { invite_id: revoked.invite_id } }]);
    const unknown = await t.api.post(
      "/api/rooms/invites/revoke/",
      { room_id: room.room_id, invite_id: foreign.invite_id },
      { token: host.token },
    );
    expect(unknown.status).toBe(404);
  });

  it("do not admit banned users", async () => {
    const { host, room } = await approvalRoom();
    const made = await invite(host.token, { room_id: room.room_id });
    const troll = await t.api.guest("Troll");
    expect((await joinWith(troll.token, room.code, made.token)).body.status).toBe("APPROVED");
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    hostClient.send({ type: "BAN_USER", user_id: troll.id });
    await expect
      .poll(
        async () =>
          (await t.app.database.db.selectFrom("room_bans").select("user_id").where("room_id", "=", room.room_id).execute()).length,
      )
      .toBe(1);
    const res = await joinWith(troll.token, room.code, made.token);
    expect(res.body.code).toBe("BANNED");
  });

  it("are the host's: clear errors for bad options, public rooms and too many invites", async () => {
    const { host, room } = await approvalRoom();
    for (const [body, message] of [
      [{ room_id: room.room_id, max_uses: 0 }, "max_uses must be at least 1"],
      [{ room_id: room.room_id, max_uses: 1001 }, "max_uses must be at most 1000"],
      [{ room_id: room.room_id, expires_in_seconds: 10 }, "expires_in_seconds must be at least 60"],
      [{ room_id: room.room_id, expires_in_seconds: 31 * 86400 }, "expires_in_seconds must be at most 2592000 (30 days)"],
    ] as const) {
      const res = await t.api.post("/api/rooms/invites/", body, { token: host.token });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe(message);
    }
    const open = await t.api.createRoom(host.token, { is_private: false });
    const pub = await t.api.post("/api/rooms/invites/", { room_id: open.room_id }, { token: host.token });
    expect(pub.status).toBe(400);
    expect(pub.body.error).toMatch(/public room needs no invite/);
    await Promise.all(Array.from({ length: 50 }, () => invite(host.token, { room_id: room.room_id })));
    const tooMany = await t.api.post("/api/rooms/invites/", { room_id: room.room_id }, { token: host.token });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.code).toBe("CONFLICT");
  });
});
