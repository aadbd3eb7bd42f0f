import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomEvent } from "../src/events/room-events.js";
import { markGrace, markLive } from "../src/lifecycle/transitions.js";
import { startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
const events: RoomEvent[] = [];
beforeAll(async () => {
  t = await startApp();
  // The bus stamps every event with an id (a room log key); the assertions are about the rest.
  t.app.events.subscribe(({ eventId: _id, ...e }) => events.push(e as RoomEvent));
});
afterAll(() => t?.stop());

const eventsOf = (type: RoomEvent["type"], roomId: string) => events.filter((e) => e.type === type && e.roomId === roomId);

/** Events travel through Redis in cluster mode: wait until `count` of them have arrived. */
async function arrived(type: RoomEvent["type"], roomId: string, count = 1): Promise<RoomEvent[]> {
  const deadline = Date.now() + 5000;
  while (eventsOf(type, roomId).length < count && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const stop = t.app.events.subscribe(() => {
        stop();
        resolve();
      });
      setTimeout(() => {
        stop();
        resolve();
      }, 100);
    });
  }
  return eventsOf(type, roomId);
}

describe("create", () => {
  it("creates a public room with a 6-character code; the host is an approved participant", async () => {
    const host = await t.api.register("Host1");
    const res = await t.api.post("/api/rooms/create/", { is_private: false, entry_mode: null }, { token: host.token });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      room_id: expect.any(String),
      code: expect.stringMatching(/^[A-Z0-9]{6}$/),
      is_private: false,
      entry_mode: null,
    });
    const detail = await t.api.get(`/api/rooms/${res.body.code}/detail/`, { token: host.token });
    expect(detail.body).toMatchObject({
      state: "CREATED",
      is_host: true,
      host: "Host1",
      host_id: host.id,
      is_active: true,
      is_chat_enabled: true,
    });
  });

  it("defaults to a public room; entry_mode is ignored for public rooms", async () => {
    const host = await t.api.register("Host2");
    const res = await t.api.post("/api/rooms/create/", {}, { token: host.token });
    expect(res.body).toMatchObject({ is_private: false, entry_mode: null });
    const ignored = await t.api.post("/api/rooms/create/", { is_private: false, entry_mode: "APPROVAL" }, { token: host.token });
    expect(ignored.body.entry_mode).toBeNull();
  });

  it("PASSWORD rooms return their 8-character password once; APPROVAL rooms none", async () => {
    const host = await t.api.register("Host3");
    const pw = await t.api.post("/api/rooms/create/", { is_private: true, entry_mode: "PASSWORD" }, { token: host.token });
    expect(pw.body.room_password).toMatch(/^[A-Za-z0-9]{8}$/);
    const ap = await t.api.post("/api/rooms/create/", { is_private: true, entry_mode: "APPROVAL" }, { token: host.token });
    expect(ap.body).not.toHaveProperty("room_password");
  });

  it("refuses private rooms without a valid entry_mode with the original message", async () => {
    const host = await t.api.register("Host4");
    for (const entry_mode of [null, undefined, "OPEN"]) {
      const res = await t.api.post("/api/rooms/create/", { is_private: true, entry_mode }, { token: host.token });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("Invalid entry_mode for private room");
    }
    const wrongType = await t.api.post("/api/rooms/create/", { is_private: "yes" }, { token: host.token });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.code).toBe("VALIDATION_FAILED");
  });

  it("guests get the intended 403 AUTH_REQUIRED body", async () => {
    const guest = await t.api.guest("Visitor");
    const res = await t.api.post("/api/rooms/create/", { is_private: false }, { token: guest.token });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ type: "ERROR", code: "AUTH_REQUIRED", message: "Login required to host", error: "Login required to host" });
  });

  it("users without a username get the intended 403 USERNAME_REQUIRED body", async () => {
    const user = await t.api.register("Nameless");
    await t.app.database.db.updateTable("users").set({ username: null }).where("id", "=", user.id).execute();
    const res = await t.api.post("/api/rooms/create/", {}, { token: user.token });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ code: "USERNAME_REQUIRED", message: "Please set a username first.", error: "Please set a username first." });
  });

  it("requires a token", async () => {
    expect((await t.api.post("/api/rooms/create/", {})).status).toBe(401);
  });
});

describe("join", () => {
  it("public: anyone joins APPROVED, idempotently, with one participant row", async () => {
    const host = await t.api.register("JHost");
    const room = await t.api.createRoom(host.token);
    const viewer = await t.api.guest("Viewer");
    const first = await t.api.join(viewer.token, room.code);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ room_id: room.room_id, code: room.code, status: "APPROVED", is_host: false });
    const second = await t.api.join(viewer.token, room.code.toLowerCase());
    expect(second.body).toEqual(first.body);
    const hostJoin = await t.api.join(host.token, room.code);
    expect(hostJoin.body.is_host).toBe(true);
  });

  it("concurrent double joins never fail and leave one row", async () => {
    const host = await t.api.register("RaceHost");
    const room = await t.api.createRoom(host.token);
    const viewer = await t.api.register("Racer");
    const results = await Promise.all(Array.from({ length: 5 }, () => t.api.join(viewer.token, room.code)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const rows = await t.app.database.db.selectFrom("room_participants").selectAll().where("room_id", "=", room.room_id).execute();
    expect(rows).toHaveLength(2);
  });

  it("password rooms: wrong or missing password is 403 'Invalid room password'; the right one approves", async () => {
    const host = await t.api.register("PwHost");
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
    const viewer = await t.api.register("PwViewer");
    for (const password of [undefined, "wrongpass"]) {
      const res = await t.api.join(viewer.token, room.code, password);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: "Invalid room password", code: "INVALID_ROOM_PASSWORD" });
    }
    const ok = await t.api.join(viewer.token, room.code, room.room_password);
    expect(ok.body.status).toBe("APPROVED");
  });

  it("password attempts are rate limited per account and room", async () => {
    const host = await t.api.register("BruteHost");
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
    const attacker = await t.api.register("Brute");
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1) statuses.push((await t.api.join(attacker.token, room.code, `guess${i}`)).status);
    expect(statuses.slice(0, 10).every((s) => s === 403)).toBe(true);
    expect(statuses[10]).toBe(429);
    const right = await t.api.join(attacker.token, room.code, room.room_password);
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toBeTruthy();
  });

  it("approval rooms: join is PENDING until the host approves; reject removes the request", async () => {
    const host = await t.api.register("ApHost");
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
    const a = await t.api.guest("Waiter");
    const b = await t.api.guest("Rejected");
    expect((await t.api.join(a.token, room.code)).body.status).toBe("PENDING");
    expect((await t.api.join(b.token, room.code)).body.status).toBe("PENDING");
    // Pending users see whose room they wait for and how it admits, nothing of its content.
    const early = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: a.token });
    expect(early.status).toBe(200);
    expect(early.body).toEqual({
      participant_status: "PENDING",
      room_id: room.room_id,
      code: room.code,
      state: "CREATED",
      is_active: true,
      is_private: true,
      entry_mode: "APPROVAL",
      host: "ApHost",
      created_at: expect.stringMatching(/Z$/),
      is_host: false,
    });

    const notHost = await t.api.post("/api/rooms/approve/", { room_id: room.room_id, user_id: a.id }, { token: b.token });
    expect(notHost.status).toBe(403);
    expect(notHost.body.error).toBe("Only host can approve");

    const approved = await t.api.post("/api/rooms/approve/", { room_id: room.room_id, user_id: a.id }, { token: host.token });
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ approved: true });
    expect(await arrived("participant.approved", room.room_id)).toEqual([
      { type: "participant.approved", roomId: room.room_id, code: room.code, userId: a.id },
    ]);
    expect((await t.api.join(a.token, room.code)).body.status).toBe("APPROVED");
    const again = await t.api.post("/api/rooms/approve/", { room_id: room.room_id, user_id: a.id }, { token: host.token });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe("PARTICIPANT_NOT_FOUND");

    const rejected = await t.api.post("/api/rooms/reject/", { room_id: room.room_id, user_id: b.id }, { token: host.token });
    expect(rejected.body).toEqual({ rejected: true });
    expect(await arrived("participant.rejected", room.room_id)).toHaveLength(1);
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: b.token });
    expect(detail.status).toBe(403);
    expect(detail.body.error).toBe("Not a participant");
    // A rejected user may ask again.
    expect((await t.api.join(b.token, room.code)).body.status).toBe("PENDING");
  });

  it("approve/reject validate their ids", async () => {
    const host = await t.api.register("ValHost");
    const missing = await t.api.post("/api/rooms/approve/", {}, { token: host.token });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("room_id required");
    const bad = await t.api.post("/api/rooms/approve/", { room_id: "nope", user_id: "nope" }, { token: host.token });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("room_id must be a valid UUID");
    const unknown = await t.api.post(
      "/api/rooms/reject/",
      { room_id: "00000000-0000-4000-8000-000000000000", user_id: host.id },
      { token: host.token },
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: "Room not found", code: "ROOM_NOT_FOUND" });
  });

  it("unknown rooms are 404; a missing code is 400 'Room code required'", async () => {
    const user = await t.api.register("Lost");
    const res = await t.api.join(user.token, "ZZZZZZ");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: "Room not found", code: "ROOM_NOT_FOUND" });
    for (const body of [{}, { code: "" }, { code: null }, { code: 123 }]) {
      const r = await t.api.post("/api/rooms/join/", body, { token: user.token });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("Room code required");
    }
  });

  it("refuses deleted (410 ROOM_INACTIVE) and expired (410 ROOM_EXPIRED) rooms and banned users (403 BANNED)", async () => {
    const host = await t.api.register("EndHost");
    const viewer = await t.api.register("EndViewer");
    const deleted = await t.api.createRoom(host.token);
    await t.api.post("/api/rooms/delete/", { room_id: deleted.room_id }, { token: host.token });
    const r1 = await t.api.join(viewer.token, deleted.code);
    expect(r1.status).toBe(410);
    expect(r1.body.code).toBe("ROOM_INACTIVE");

    const expired = await t.api.createRoom(host.token);
    const db = t.app.database.db;
    await markLive(db, expired.room_id);
    await markGrace(db, expired.room_id, 1, new Date(Date.now() - 5000));
    await db.updateTable("rooms").set({ state: "EXPIRED" }).where("id", "=", expired.room_id).execute();
    const r2 = await t.api.join(viewer.token, expired.code);
    expect(r2.status).toBe(410);
    expect(r2.body.code).toBe("ROOM_EXPIRED");

    const banned = await t.api.createRoom(host.token);
    await t.api.join(viewer.token, banned.code);
    await db.insertInto("room_bans").values({ room_id: banned.room_id, user_id: viewer.id, banned_by: host.id }).execute();
    const r3 = await t.api.join(viewer.token, banned.code);
    expect(r3.status).toBe(403);
    expect(r3.body).toEqual({ error: "You are banned from this room", code: "BANNED" });
  });
});

describe("delete", () => {
  it("only the host deletes; state becomes DELETED, ROOM_DELETED is published once, repeat is idempotent", async () => {
    const host = await t.api.register("DelHost");
    const other = await t.api.register("DelOther");
    const room = await t.api.createRoom(host.token);
    const forbidden = await t.api.post("/api/rooms/delete/", { room_id: room.room_id }, { token: other.token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe("Only host can delete room");

    const res = await t.api.post("/api/rooms/delete/", { room_id: room.room_id }, { token: host.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "room_deleted", state: "DELETED" });
    const again = await t.api.post("/api/rooms/delete/", { room_id: room.room_id }, { token: host.token });
    expect(again.body).toEqual({ status: "room_deleted", state: "DELETED" });
    expect(await arrived("room.deleted", room.room_id)).toHaveLength(1);
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
    expect(detail.body).toMatchObject({ state: "DELETED", is_active: false });
  });

  it("missing room_id is 404 'Room not found' as the original; a malformed one is 400", async () => {
    const host = await t.api.register("DelHost2");
    for (const body of [{}, { room_id: null }]) {
      const res = await t.api.post("/api/rooms/delete/", body, { token: host.token });
      expect(res.status).toBe(404);
      expect(res.body.error).toBe("Room not found");
    }
    expect((await t.api.post("/api/rooms/delete/", { room_id: "x" }, { token: host.token })).status).toBe(400);
  });
});

describe("participants, detail, mine", () => {
  it("participants/ lists everyone for the host, host first; others are refused", async () => {
    const host = await t.api.register("PHost");
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
    const g = await t.api.guest("Pending1");
    await t.api.join(g.token, room.code);
    const res = await t.api.get(`/api/rooms/participants/?room_id=${room.room_id}`, { token: host.token });
    expect(res.status).toBe(200);
    expect(res.body.map((p: any) => [p.display_name, p.status, p.is_host, p.is_guest])).toEqual([
      ["PHost", "APPROVED", true, false],
      ["Pending1", "PENDING", false, true],
    ]);
    const refused = await t.api.get(`/api/rooms/participants/?room_id=${room.room_id}`, { token: g.token });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe("Only host can view participants");
    const missing = await t.api.get("/api/rooms/participants/", { token: host.token });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("room_id required");
    const bad = await t.api.get("/api/rooms/participants/?room_id=123", { token: host.token });
    expect(bad.status).toBe(400);
    const unknown = await t.api.get("/api/rooms/participants/?room_id=00000000-0000-4000-8000-000000000000", { token: host.token });
    expect(unknown.status).toBe(404);
  });

  it("detail/ has the original keys; non-participants get 403, unknown codes 404", async () => {
    const host = await t.api.register("DHost");
    const room = await t.api.createRoom(host.token);
    const viewer = await t.api.guest("DViewer");
    const refused = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: viewer.token });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: "Not a participant", code: "NOT_A_PARTICIPANT" });
    await t.api.join(viewer.token, room.code);
    const res = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: viewer.token });
    expect(res.status).toBe(200);
    for (const key of [
      "room_id",
      "code",
      "state",
      "is_active",
      "is_private",
      "entry_mode",
      "is_chat_enabled",
      "host",
      "host_id",
      "video_provider",
      "video_id",
      "created_at",
      "is_host",
    ]) {
      expect(res.body).toHaveProperty(key);
    }
    expect(res.body.is_host).toBe(false);
    expect(new Date(res.body.created_at).getTime()).not.toBeNaN();
    expect((await t.api.get("/api/rooms/NOPE00/detail/", { token: viewer.token })).status).toBe(404);
  });

  it("mine/ lists the caller's active rooms", async () => {
    const host = await t.api.register("MineHost");
    const a = await t.api.createRoom(host.token);
    const b = await t.api.createRoom(host.token);
    await t.api.post("/api/rooms/delete/", { room_id: b.room_id }, { token: host.token });
    const res = await t.api.get("/api/rooms/mine/", { token: host.token });
    expect(res.body.map((r: any) => r.code)).toEqual([a.code]);
    expect(res.body[0]).toMatchObject({ is_host: true, status: "APPROVED", state: "CREATED" });
  });
});

describe("source, chat toggle, password rotation", () => {
  it("source/ stores the media, returns the embed URL, resets playback with a new version and publishes it", async () => {
    const host = await t.api.register("SrcHost");
    const room = await t.api.createRoom(host.token);
    const movie = await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "vidking", video_id: "1078605" },
      { token: host.token },
    );
    expect(movie.status).toBe(200);
    expect(movie.body).toEqual({
      room_id: room.room_id,
      video_provider: "vidking",
      video_id: "1078605",
      media_type: "movie",
      season: null,
      episode: null,
      embed_url: "https://www.vidking.net/embed/movie/1078605",
      // Added: what plays now has an identity (skip votes count for it); nothing else is known of it.
      item_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: null,
      duration: null,
      // Added: what the iframe player can do (no rate control), and no thumbnail.
      thumbnail: null,
      capabilities: { precise_seek: false, rate_control: false, live: false },
    });
    const tv = await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "vidking", video_id: "119051", media_type: "tv", season: 1, episode: 8 },
      { token: host.token },
    );
    expect(tv.body.embed_url).toBe("https://www.vidking.net/embed/tv/119051/1/8");
    const published = await arrived("room.source_changed", room.room_id, 2);
    expect(published).toHaveLength(2);
    const last = published[1] as Extract<RoomEvent, { type: "room.source_changed" }>;
    expect(last.playback).toMatchObject({ is_playing: false, time: 0, version: 2, rate: 1 });
    expect(last.source.media_type).toBe("tv");
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
    expect(detail.body).toMatchObject({ video_provider: "vidking", video_id: "119051", season: 1, episode: 8 });
  });

  it("source/ errors: missing fields, unknown provider, tv without episode, not host", async () => {
    const host = await t.api.register("SrcHost2");
    const other = await t.api.register("SrcOther");
    const room = await t.api.createRoom(host.token);
    const missing = await t.api.post("/api/rooms/source/", { room_id: room.room_id, provider: " " }, { token: host.token });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("room_id, provider, and video_id required");
    const unknown = await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "dailymotion", video_id: "x" },
      { token: host.token },
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: "Unknown provider: dailymotion", code: "UNKNOWN_PROVIDER" });
    const tv = await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "vidking", video_id: "1", media_type: "tv" },
      { token: host.token },
    );
    expect(tv.status).toBe(400);
    expect(tv.body.error).toBe("TV playback requires season and episode");
    const notHost = await t.api.post(
      "/api/rooms/source/",
      { room_id: room.room_id, provider: "vidking", video_id: "1" },
      { token: other.token },
    );
    expect(notHost.status).toBe(403);
    expect(notHost.body.error).toBe("Only host can update room media");
  });

  it("chat/ toggles chat for the host and publishes it", async () => {
    const host = await t.api.register("ChatHost");
    const room = await t.api.createRoom(host.token);
    const res = await t.api.post("/api/rooms/chat/", { room_id: room.room_id, enabled: false }, { token: host.token });
    expect(res.body).toEqual({ room_id: room.room_id, is_chat_enabled: false });
    expect(await arrived("room.chat_toggled", room.room_id)).toEqual([
      { type: "room.chat_toggled", roomId: room.room_id, code: room.code, enabled: false },
    ]);
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
    expect(detail.body.is_chat_enabled).toBe(false);
    const bad = await t.api.post("/api/rooms/chat/", { room_id: room.room_id, enabled: "no" }, { token: host.token });
    expect(bad.body.error).toBe("enabled must be true or false");
  });

  it("password/ rotates a PASSWORD room's password: the old one stops working", async () => {
    const host = await t.api.register("RotHost");
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
    const res = await t.api.post("/api/rooms/password/", { room_id: room.room_id }, { token: host.token });
    expect(res.body.room_password).toMatch(/^[A-Za-z0-9]{8}$/);
    const viewer = await t.api.register("RotViewer");
    expect((await t.api.join(viewer.token, room.code, room.room_password)).status).toBe(403);
    expect((await t.api.join(viewer.token, room.code, res.body.room_password)).status).toBe(200);
    const publicRoom = await t.api.createRoom(host.token);
    expect((await t.api.post("/api/rooms/password/", { room_id: publicRoom.room_id }, { token: host.token })).status).toBe(400);
  });

  it("every change is in the audit log", async () => {
    const host = await t.api.register("AuditHost");
    const room = await t.api.createRoom(host.token);
    const viewer = await t.api.guest("AuditViewer");
    await t.api.join(viewer.token, room.code);
    await t.api.post("/api/rooms/chat/", { room_id: room.room_id, enabled: false }, { token: host.token });
    await t.api.post("/api/rooms/delete/", { room_id: room.room_id }, { token: host.token });
    const log = await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "actor_id"])
      .where("room_id", "=", room.room_id)
      .orderBy("created_at")
      .execute();
    expect(log).toEqual([
      { event: "room.created", actor_id: host.id },
      { event: "participant.joined", actor_id: viewer.id },
      { event: "room.chat_toggled", actor_id: host.id },
      { event: "room.deleted", actor_id: host.id },
    ]);
  });
});
