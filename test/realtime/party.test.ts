/**
 * Scheduled parties over both transports: members see the countdown (PARTY_STARTS_AT) on join
 * and on every change, the room plays by itself at the time (anchored at it), once; a cleared
 * party does not start, one without media says so, and only those who may drive playback set it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";
import { guest, party, type Transport } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const events = async (roomId: string) =>
  (
    await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "data"])
      .where("room_id", "=", roomId)
      .where("event", "like", "party.%")
      .orderBy("seq")
      .execute()
  ).map((e) => ({ event: e.event, ...(e.data as Record<string, unknown>) }));

/** The host and the guest "Early" over `connect`, with a direct media source set. */
async function room(connect: Transport, withMedia = true) {
  const p = await party(t, { transport: connect, members: { viewer: guest("Early") }, hostSeesJoin: true });
  if (withMedia) {
    const set = await t.api.post(
      "/api/rooms/source/",
      { room_id: p.room.room_id, provider: "direct", video_id: "https://media.example/party.webm" },
      { token: p.host.token },
    );
    expect(set.status).toBe(200);
    await p.viewerClient.waitFor("SOURCE_CHANGED");
    await p.viewerClient.waitFor("PLAYBACK_STATE");
  }
  return p;
}

const setParty = (token: string, roomId: string, startsAt: string | null) =>
  t.api.post("/api/rooms/party/", { room_id: roomId, starts_at: startsAt }, { token });

describe.each(transports)("scheduled parties over %s", (_name, connect) => {
  it("members see the countdown on join and on change, and the room plays by itself at the time, once", async () => {
    const { host, room: r, viewerClient, hostClient } = await room(connect);
    const later = inMs(60_000);
    const set = await setParty(host.token, r.room_id, later);
    expect(set.status, set.text).toBe(200);
    expect(set.body).toEqual({ room_id: r.room_id, party_starts_at: later });
    expect(await viewerClient.waitFor("PARTY_STARTS_AT")).toEqual({
      type: "PARTY_STARTS_AT",
      starts_at: later,
      server_time: expect.any(Number),
      reason: "scheduled",
    });
    const detail = await t.api.get(`/api/rooms/${r.code}/detail/`, { token: host.token });
    expect(detail.body.party_starts_at).toBe(later);

    // A member who joins early gets the countdown after the three join messages.
    const late = await t.api.guest("Late");
    expect((await t.api.join(late.token, r.code)).status).toBe(200);
    const lateClient = connect(t.baseUrl, r.code, late.token);
    await lateClient.drainJoin();
    expect(await lateClient.waitFor("PARTY_STARTS_AT")).toMatchObject({ starts_at: later, reason: "scheduled" });

    // Moved closer over the socket: everyone sees the new time, then the room plays at it.
    // Within the start lead (1.5 s): the start fires at once, anchored at the party time.
    const soon = inMs(1200);
    hostClient.send({ type: "SET_PARTY_TIME", starts_at: soon });
    expect(await viewerClient.waitFor("PARTY_STARTS_AT")).toMatchObject({ starts_at: soon, reason: "scheduled" });
    expect(await lateClient.waitFor("PARTY_STARTS_AT")).toMatchObject({ starts_at: soon });
    // The countdown ends (`started`) as the start commits; legacy clients get the state at the time.
    const [ended, playing] = await viewerClient.waitForAll(["PARTY_STARTS_AT", "PLAYBACK_STATE"]);
    expect(ended).toMatchObject({ starts_at: null, reason: "started" });
    expect(playing).toMatchObject({ is_playing: true, time: 0, version: 2 });
    // Anchored at the party time itself (the start fired a start lead early).
    expect(playing!.server_time).toBe(Date.parse(soon));
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(soon) - 5);
    const [, lateState] = await lateClient.waitForAll(["PARTY_STARTS_AT", "PLAYBACK_STATE"]);
    expect(lateState).toMatchObject({ is_playing: true, version: 2 });
    const timeline = await events(r.room_id);
    expect(timeline.map((e) => e.event)).toEqual(["party.scheduled", "party.scheduled", "party.started"]);
    expect(timeline[1]).toMatchObject({ starts_at: soon, previous: later });
    expect(timeline[2]).toMatchObject({ starts_at: soon, version: 2, time: 0 });
    const after = await t.api.get(`/api/rooms/${r.code}/detail/`, { token: host.token });
    expect(after.body.party_starts_at).toBeNull();
    // The old time's firing (its job, if any was left) and a second start change nothing.
    expect(await t.app.realtime.parties.start(r.room_id, new Date(soon))).toBeUndefined();
    await viewerClient.expectNone(300, "PLAYBACK_STATE");
  });

  it("a cleared party does not start", async () => {
    const { host, room: r, viewerClient } = await room(connect);
    // Fires a start lead (1.5 s) early: 1 s from now.
    const soon = inMs(2500);
    expect((await setParty(host.token, r.room_id, soon)).status).toBe(200);
    await viewerClient.waitFor("PARTY_STARTS_AT");
    const cleared = await setParty(host.token, r.room_id, null);
    expect(cleared.body).toEqual({ room_id: r.room_id, party_starts_at: null });
    expect(await viewerClient.waitFor("PARTY_STARTS_AT")).toMatchObject({ starts_at: null, reason: "cleared" });
    await viewerClient.expectNone(1800, "PLAYBACK_STATE");
    expect(await t.app.realtime.parties.start(r.room_id, new Date(soon))).toBeUndefined();
    expect((await events(r.room_id)).map((e) => e.event)).toEqual(["party.scheduled", "party.cleared"]);
  });

  it("a room with no media at the time does not start: members are told (no_media), the timeline says so", async () => {
    const { host, room: r, viewerClient } = await room(connect, false);
    const soon = inMs(400);
    expect((await setParty(host.token, r.room_id, soon)).status).toBe(200);
    await viewerClient.waitFor("PARTY_STARTS_AT");
    expect(await viewerClient.waitFor("PARTY_STARTS_AT")).toMatchObject({ starts_at: null, reason: "no_media" });
    await viewerClient.expectNone(300, "PLAYBACK_STATE");
    expect(await events(r.room_id)).toEqual([
      { event: "party.scheduled", starts_at: soon, previous: null },
      { event: "party.cleared", previous: soon, reason: "no_media" },
    ]);
  });

  it("refuses a past time, one too far ahead and anyone who may not drive playback", async () => {
    const { host, viewer, room: r, viewerClient, hostClient } = await room(connect);
    for (const startsAt of [inMs(-1000), inMs(31 * 86_400_000), "tomorrow", "2030-01-01T20:00:00"]) {
      const res = await setParty(host.token, r.room_id, startsAt);
      expect(res.status, startsAt).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    hostClient.send({ type: "SET_PARTY_TIME", starts_at: inMs(-5) });
    expect(await hostClient.waitFor("ERROR")).toMatchObject({ code: "VALIDATION_FAILED", message: "starts_at must be in the future" });
    const denied = await setParty(viewer.token, r.room_id, inMs(60_000));
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("PERMISSION_DENIED");
    viewerClient.send({ type: "SET_PARTY_TIME", starts_at: inMs(60_000) });
    expect(await viewerClient.waitFor("ERROR")).toMatchObject({ code: "PERMISSION_DENIED" });
    await viewerClient.expectNone(200, "PARTY_STARTS_AT");
    expect(await events(r.room_id)).toEqual([]);
  });

  it("a room created with starts_at has its party; a past starts_at creates no room", async () => {
    const host = await t.api.register();
    const startsAt = inMs(3_600_000);
    const created = await t.api.post("/api/rooms/create/", { is_private: false, starts_at: startsAt }, { token: host.token });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ party_starts_at: startsAt, is_private: false });
    const detail = await t.api.get(`/api/rooms/${created.body.code}/detail/`, { token: host.token });
    expect(detail.body.party_starts_at).toBe(startsAt);
    const client = connect(t.baseUrl, created.body.code, host.token);
    await client.drainJoin();
    expect(await client.waitFor("PARTY_STARTS_AT")).toMatchObject({ starts_at: startsAt, reason: "scheduled" });
    const past = await t.api.post("/api/rooms/create/", { is_private: false, starts_at: inMs(-60_000) }, { token: host.token });
    expect(past.status).toBe(400);
    expect(past.body.code).toBe("VALIDATION_FAILED");
    const mine = await t.api.get("/api/rooms/mine/", { token: host.token });
    expect(mine.body).toHaveLength(1);
  });
});
