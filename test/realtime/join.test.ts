/** Admission (close codes, in the original's order), the join and leave sequences, presence. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markGrace, markLive } from "../../src/lifecycle/transitions.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, transports } from "../helpers/clients.js";
import { guest, party } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

/** A public room, its host and the guest "Viewer", nobody connected yet. */
const roomWithViewer = () => party(t, { members: { viewer: guest("Viewer") } });

describe.each(transports)("admission over %s", (_name, connect) => {
  it("4001 without or with a bad token", async () => {
    const { room } = await roomWithViewer();
    for (const token of [null, "not-a-jwt"]) {
      const client = connect(t.baseUrl, room.code, token);
      expect((await client.closed).code).toBe(4001);
    }
  });

  it("4003 for a user without a username", async () => {
    const { room } = await roomWithViewer();
    const user = await t.api.register();
    await t.api.join(user.token, room.code);
    await t.app.database.db.updateTable("users").set({ username: null }).where("id", "=", user.id).execute();
    expect((await connect(t.baseUrl, room.code, user.token).closed).code).toBe(4003);
  });

  it("4002 for an unknown room", async () => {
    const user = await t.api.register();
    expect((await connect(t.baseUrl, "NOPE99", user.token).closed).code).toBe(4002);
  });

  it("4010 for a banned user, 4005 for a deleted room", async () => {
    const { host, room, viewer } = await roomWithViewer();
    await t.app.database.db.insertInto("room_bans").values({ room_id: room.room_id, user_id: viewer.id, banned_by: host.id }).execute();
    expect((await connect(t.baseUrl, room.code, viewer.token).closed).code).toBe(4010);
    await t.api.post("/api/rooms/delete/", { room_id: room.room_id }, { token: host.token });
    expect((await connect(t.baseUrl, room.code, host.token).closed).code).toBe(4005);
  });

  it("4004 once the grace period has passed (and the room is then EXPIRED)", async () => {
    const { room, viewer } = await roomWithViewer();
    await markLive(t.app.database.db, room.room_id);
    await markGrace(t.app.database.db, room.room_id, 1, new Date(Date.now() - 5000));
    expect((await connect(t.baseUrl, room.code, viewer.token).closed).code).toBe(4004);
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: viewer.token });
    expect(detail.body.state).toBe("EXPIRED");
  });

  it("4003 for pending and non-participants", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
    const pending = await t.api.guest("Pending");
    await t.api.join(pending.token, room.code);
    const stranger = await t.api.guest("Stranger");
    expect((await connect(t.baseUrl, room.code, pending.token).closed).code).toBe(4003);
    expect((await connect(t.baseUrl, room.code, stranger.token).closed).code).toBe(4003);
  });

  it("a refused connection produces no USER_LEFT, presence or grace", async () => {
    const { host, room } = await roomWithViewer();
    const hostClient = connect(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const stranger = await t.api.guest("Prober");
    expect((await connect(t.baseUrl, room.code, stranger.token).closed).code).toBe(4003);
    await hostClient.expectNone(150);
    const presence = await t.app.realtime.state.presence.roomPresence([room.room_id]);
    expect(presence.get(room.room_id)).toEqual({ viewers: 1, hostOnline: true });
  });
});

describe("join and leave sequences", () => {
  it.each(transports)(
    "over %s: joiner gets CHAT_HISTORY, PLAYBACK_STATE, ROOM_PARTICIPANTS; others ROOM_PARTICIPANTS then USER_JOINED",
    async (_n, connect) => {
      const { host, room, viewer } = await roomWithViewer();
      const hostClient = connect(t.baseUrl, room.code, host.token);
      expect((await hostClient.next()).type).toBe("CHAT_HISTORY");
      const state = await hostClient.next();
      expect(state).toMatchObject({ type: "PLAYBACK_STATE", is_playing: false, time: 0, version: 0, rate: 1 });
      expect(Math.abs(state.server_time - Date.now())).toBeLessThan(5000);
      const roster = await hostClient.next("ROOM_PARTICIPANTS");
      expect(roster).toMatchObject({ participants: [host.display_name, "Viewer"], host: host.display_name, online: 1 });
      expect(roster.members).toEqual([
        { id: host.id, display_name: host.display_name, is_host: true, is_cohost: false, online: true },
        { id: viewer.id, display_name: "Viewer", is_host: false, is_cohost: false, online: false },
      ]);

      const viewerClient = connect(t.baseUrl, room.code, viewer.token);
      const joinTypes = (await viewerClient.drainJoin()).map((m) => m.type);
      expect(joinTypes).toEqual(["CHAT_HISTORY", "PLAYBACK_STATE", "ROOM_PARTICIPANTS"]);
      const update = await hostClient.next("ROOM_PARTICIPANTS");
      expect(update.online).toBe(2);
      // Added keys (delta presence): the member's roster entry and the online count.
      expect(await hostClient.next("USER_JOINED")).toEqual({
        type: "USER_JOINED",
        user: "Viewer",
        user_id: viewer.id,
        member: { id: viewer.id, display_name: "Viewer", is_host: false, is_cohost: false, online: true },
        online: 2,
      });
      await viewerClient.expectNone(100, "USER_JOINED");

      await viewerClient.close();
      expect(await hostClient.next("USER_LEFT")).toEqual({
        type: "USER_LEFT",
        user: "Viewer",
        user_id: viewer.id,
        member: { id: viewer.id, display_name: "Viewer", is_host: false, is_cohost: false, online: false },
        online: 1,
      });
      const after = await hostClient.next("ROOM_PARTICIPANTS");
      expect(after.online).toBe(1);
      expect(after.members[1].online).toBe(false);
    },
  );

  it("counts a user once across tabs: the second tab is not announced, closing one tab is not a leave", async () => {
    const { host, room, viewer } = await roomWithViewer();
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const tab1 = sioClient(t.baseUrl, room.code, viewer.token);
    await tab1.drainJoin();
    await hostClient.next("ROOM_PARTICIPANTS");
    await hostClient.next("USER_JOINED");
    const tab2 = rawClient(t.baseUrl, room.code, viewer.token);
    await tab2.drainJoin();
    expect((await hostClient.next("ROOM_PARTICIPANTS")).online).toBe(2);
    await tab1.close();
    expect((await hostClient.next("ROOM_PARTICIPANTS")).online).toBe(2);
    await hostClient.expectNone(100, "USER_LEFT");
    expect((await t.app.realtime.state.presence.roomPresence([room.room_id])).get(room.room_id)?.viewers).toBe(2);
    await tab2.close();
    await hostClient.next("USER_LEFT");
  });

  it("frames sent before admission finishes are processed after the join sequence", async () => {
    const { host, room } = await roomWithViewer();
    const client = rawClient(t.baseUrl, room.code, host.token);
    await client.opened;
    client.send({ type: "TIME_SYNC", client_ts: 1 });
    await client.drainJoin();
    expect(await client.waitFor("TIME_SYNC")).toMatchObject({ client_ts: 1 });
  });
});

describe("transport details", () => {
  it("serves /ws/v1/room/<code>/ and the path without trailing slash", async () => {
    const { host, room } = await roomWithViewer();
    for (const path of [`/ws/v1/room/${room.code}/`, `/ws/room/${room.code}`]) {
      const client = rawClient(t.baseUrl, room.code, host.token, { path });
      await client.drainJoin();
      await client.close();
    }
  });

  it("refuses browser origins that are not configured, accepts configured ones", async () => {
    const { host, room } = await roomWithViewer();
    const evil = rawClient(t.baseUrl, room.code, host.token, { origin: "https://evil.example" });
    await expect(evil.opened).rejects.toThrow(/403/);
    const good = rawClient(t.baseUrl, room.code, host.token, { origin: "http://localhost:3000" });
    await good.drainJoin();
    await good.close();
    const sio = sioClient(t.baseUrl, room.code, host.token, { origin: "https://evil.example" });
    await expect(sio.opened).rejects.toThrow();
  });

  it("Socket.IO: connect_error carries the reason code and data.code; a token query works too", async () => {
    const user = await t.api.register();
    const refused = sioClient(t.baseUrl, "NOPE99", user.token);
    const err = await refused.connectError;
    expect(err.message).toBe("ROOM_NOT_FOUND");
    expect(err.data).toEqual({ code: 4002, message: "Room not found" });
    const { host, room } = await roomWithViewer();
    const viaQuery = sioClient(t.baseUrl, room.code, host.token, { queryToken: true });
    await viaQuery.drainJoin();
  });

  it("unknown upgrade paths are refused without hanging", async () => {
    const client = rawClient(t.baseUrl, "X", null, { path: "/not-a-socket/" });
    await expect(client.opened).rejects.toThrow(/404/);
  });
});
