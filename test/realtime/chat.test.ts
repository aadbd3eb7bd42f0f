/** Chat over both transports: persistence, history, limits, mutes, the REST toggle. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CHAT_RETENTION, CHAT_TRIM_EVERY, chatMessageId } from "../../src/chat/service.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, transports } from "../helpers/clients.js";
import { guest, party, type Transport } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

/** A public room: the host and the guest "Pal" (`viewer`), both over `connect`; the host has seen Pal join. */
const hostAndPal = (connect: Transport = "ws") => party(t, { transport: connect, members: { viewer: guest("Pal") }, hostSeesJoin: true });

describe.each(transports)("chat over %s", (_name, connect) => {
  it("broadcasts to everyone, sender included, with id, user_id and created_at, and persists", async () => {
    const { room, viewer, hostClient, viewerClient } = await hostAndPal(connect);
    viewerClient.send({ type: "CHAT_MESSAGE", message: "  hello there  " });
    const echo = await viewerClient.waitFor("CHAT_MESSAGE");
    expect(echo).toEqual({
      type: "CHAT_MESSAGE",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      user: "Pal",
      user_id: viewer.id,
      message: "hello there",
      created_at: expect.stringMatching(/Z$/),
    });
    expect(await hostClient.waitFor("CHAT_MESSAGE")).toEqual(echo);
    const rows = await t.app.database.db.selectFrom("chat_messages").select("message").where("room_id", "=", room.room_id).execute();
    expect(rows).toEqual([{ message: "hello there" }]);
  });

  it("refuses too long, duplicate and rate-limited messages with the original's strings", async () => {
    const { viewerClient } = await hostAndPal(connect);
    viewerClient.send({ type: "CHAT_MESSAGE", message: "x".repeat(501) });
    expect(await viewerClient.waitFor("ERROR")).toEqual({ type: "ERROR", code: "MESSAGE_TOO_LONG", message: "Message too long." });
    // 500 code points is fine even when it is more UTF-16 units.
    viewerClient.send({ type: "CHAT_MESSAGE", message: "😀".repeat(500) });
    await viewerClient.waitFor("CHAT_MESSAGE");
    viewerClient.send({ type: "CHAT_MESSAGE", message: "same" });
    await viewerClient.waitFor("CHAT_MESSAGE");
    viewerClient.send({ type: "CHAT_MESSAGE", message: "same" });
    expect(await viewerClient.waitFor("ERROR")).toEqual({
      type: "ERROR",
      code: "DUPLICATE_MESSAGE",
      message: "Duplicate message blocked.",
    });
  });

  it("empty messages are ignored silently", async () => {
    const { viewerClient } = await hostAndPal(connect);
    viewerClient.send({ type: "CHAT_MESSAGE", message: "   " });
    await viewerClient.expectNone(150);
  });
});

describe("chat rules", () => {
  it("5 messages per 3 s, then a 10 s cooldown", async () => {
    const { viewerClient } = await hostAndPal();
    for (let i = 0; i < 5; i += 1) {
      viewerClient.send({ type: "CHAT_MESSAGE", message: `spam-${i}` });
      expect((await viewerClient.waitFor("CHAT_MESSAGE")).message).toBe(`spam-${i}`);
    }
    viewerClient.send({ type: "CHAT_MESSAGE", message: "spam-5" });
    expect(await viewerClient.waitFor("ERROR")).toMatchObject({ code: "RATE_LIMITED", message: "Rate limit exceeded. Please wait." });
    viewerClient.send({ type: "CHAT_MESSAGE", message: "later" });
    expect((await viewerClient.waitFor("ERROR")).code).toBe("RATE_LIMITED");
  });

  it("a muted user is refused before the limiter counts, and can chat again once unmuted", async () => {
    const { viewer, hostClient, viewerClient } = await hostAndPal();
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    expect(await viewerClient.waitFor("USER_MUTED")).toEqual({ type: "USER_MUTED", user_id: viewer.id, muted: true });
    for (let i = 0; i < 8; i += 1) {
      viewerClient.send({ type: "CHAT_MESSAGE", message: `muted ${i}` });
      expect(await viewerClient.waitFor("ERROR")).toEqual({ type: "ERROR", code: "MUTED", message: "You are muted in this room" });
    }
    hostClient.send({ type: "UNMUTE_USER", user_id: viewer.id });
    await viewerClient.waitFor("USER_MUTED");
    viewerClient.send({ type: "CHAT_MESSAGE", message: "free again" });
    expect((await viewerClient.waitFor("CHAT_MESSAGE")).message).toBe("free again");
  });

  it("the host toggles chat over REST; the room is told and chat is refused while off", async () => {
    const { host, room, hostClient, viewerClient } = await hostAndPal();
    await t.api.post("/api/rooms/chat/", { room_id: room.room_id, enabled: false }, { token: host.token });
    expect(await viewerClient.waitFor("CHAT_STATUS")).toEqual({ type: "CHAT_STATUS", enabled: false, slow_mode_seconds: 0 });
    await hostClient.waitFor("CHAT_STATUS");
    viewerClient.send({ type: "CHAT_MESSAGE", message: "anyone?" });
    expect(await viewerClient.waitFor("ERROR")).toEqual({ type: "ERROR", code: "CHAT_DISABLED", message: "Chat is disabled in this room" });
    await t.api.post("/api/rooms/chat/", { room_id: room.room_id, enabled: true }, { token: host.token });
    await viewerClient.waitFor("CHAT_STATUS");
    viewerClient.send({ type: "CHAT_MESSAGE", message: "back" });
    await viewerClient.waitFor("CHAT_MESSAGE");
  });

  it("slow mode: viewers get one message per period (SLOW_MODE, not counted by the limiter), the host is exempt", async () => {
    const { host, room, viewer, hostClient, viewerClient } = await hostAndPal();
    const set = (seconds: unknown, token = host.token) =>
      t.api.post("/api/rooms/slow-mode/", { room_id: room.room_id, seconds }, { token });
    for (const bad of [-1, 3601, 1.5, "5", null]) {
      const res = await set(bad);
      expect(res.status, `seconds ${JSON.stringify(bad)}`).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    expect((await set(5, viewer.token)).status).toBe(403);
    const res = await set(2);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ room_id: room.room_id, chat_slow_mode_seconds: 2 });
    expect(await viewerClient.waitFor("CHAT_STATUS")).toEqual({ type: "CHAT_STATUS", enabled: true, slow_mode_seconds: 2 });
    await hostClient.waitFor("CHAT_STATUS");
    expect((await t.api.get(`/api/rooms/${room.code}/detail/`, { token: viewer.token })).body.chat_slow_mode_seconds).toBe(2);

    viewerClient.send({ type: "CHAT_MESSAGE", message: "first" });
    const first = await viewerClient.waitFor("CHAT_MESSAGE");
    expect(await hostClient.waitFor("CHAT_MESSAGE")).toEqual(first);
    for (let i = 0; i < 8; i += 1) {
      viewerClient.send({ type: "CHAT_MESSAGE", message: `too soon ${i}` });
      expect(await viewerClient.waitFor("ERROR")).toEqual({
        type: "ERROR",
        code: "SLOW_MODE",
        message: "Slow mode is on: one message every 2 s.",
      });
    }
    for (let i = 0; i < 3; i += 1) {
      hostClient.send({ type: "CHAT_MESSAGE", message: `host ${i}` });
      expect((await hostClient.waitFor("CHAT_MESSAGE")).message).toBe(`host ${i}`);
      expect((await viewerClient.waitFor("CHAT_MESSAGE")).message).toBe(`host ${i}`);
    }
    // Eight refusals did not count against the 5-per-3-s limiter: the next period's message passes.
    // A wait, not a poll: the period is wall-clock time from the first message (no event ends
    // it), and every early try would be one more refusal.
    await new Promise((resolve) => setTimeout(resolve, Date.parse(first.created_at) + 2100 - Date.now()));
    viewerClient.send({ type: "CHAT_MESSAGE", message: "second" });
    expect((await viewerClient.waitFor("CHAT_MESSAGE")).message).toBe("second");

    expect((await set(0)).body.chat_slow_mode_seconds).toBe(0);
    expect(await viewerClient.waitFor("CHAT_STATUS")).toMatchObject({ slow_mode_seconds: 0 });
    viewerClient.send({ type: "CHAT_MESSAGE", message: "free" });
    expect((await viewerClient.waitFor("CHAT_MESSAGE")).message).toBe("free");
    const events = await t.app.database.db
      .selectFrom("room_events")
      .select("event")
      .where("room_id", "=", room.room_id)
      .where("event", "=", "room.slow_mode_changed")
      .execute();
    expect(events).toHaveLength(2);
  });

  it("joiners get the last 50 messages oldest first; retention keeps 500, trimmed in batches", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const db = t.app.database.db;
    const base = Date.now() - 1_000_000;
    await db
      .insertInto("chat_messages")
      .values(
        Array.from({ length: 560 }, (_, i) => ({
          room_id: room.room_id,
          user_id: host.id,
          message: `m${i}`,
          created_at: new Date(base + i * 10),
        })),
      )
      .execute();
    const client = sioClient(t.baseUrl, room.code, host.token);
    const history = (await client.drainJoin()).find((m) => m.type === "CHAT_HISTORY")!;
    expect(history.messages).toHaveLength(50);
    expect(history.messages[0].message).toBe("m510");
    expect(history.messages[49].message).toBe("m559");
    expect(Object.keys(history.messages[0]).sort()).toEqual(["created_at", "id", "message", "user", "user_id"]);
    // Posting CHAT_TRIM_EVERY messages triggers one trim back to CHAT_RETENTION.
    const ack = await client.emitAck("CHAT_MESSAGE", { message: "first" });
    expect(ack).toMatchObject({ ok: true, id: expect.any(String) });
    const count = async () =>
      Number(
        (
          await db
            .selectFrom("chat_messages")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("room_id", "=", room.room_id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    // Not trimmed per message...
    expect(await count()).toBe(561);
    for (let i = 1; i < CHAT_TRIM_EVERY; i += 1)
      await t.app.services.chat.post(room.room_id, { id: host.id, display_name: "H" }, `bulk ${i}`);
    // ...but once per CHAT_TRIM_EVERY inserts, back to the newest CHAT_RETENTION (the trim runs
    // right after the insert, off the sender's path).
    await vi.waitFor(async () => expect(await count()).toBe(CHAT_RETENTION));
    const oldest = await db
      .selectFrom("chat_messages")
      .select("message")
      .where("room_id", "=", room.room_id)
      .orderBy("created_at")
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(oldest.message).toBe("m110");
  });

  it("messages posted at once are committed together, in order, each resolved with its own row", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const chat = t.app.services.chat;
    const user = { id: host.id, display_name: "H" };
    const entries = await Promise.all(Array.from({ length: 120 }, (_, i) => chat.post(room.room_id, user, `burst ${i}`)));
    expect(new Set(entries.map((e) => e.id)).size).toBe(120);
    const history = await chat.history(room.room_id, 120);
    expect(history.map((m) => m.message)).toEqual(entries.map((e) => e.message));
    expect(history.map((m) => m.id)).toEqual(entries.map((e) => e.id));
    expect(history.map((m) => m.created_at)).toEqual(entries.map((e) => e.created_at));
  });

  it("one message that cannot be stored fails alone; the rest of its batch is committed", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const chat = t.app.services.chat;
    const user = { id: host.id, display_name: "H" };
    const missingRoom = "00000000-0000-4000-8000-000000000000";
    const results = await Promise.allSettled([
      chat.post(room.room_id, user, "before"),
      chat.post(room.room_id, user, "a"),
      chat.post(missingRoom, user, "orphan"),
      chat.post(room.room_id, user, "b"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect((await chat.history(room.room_id)).map((m) => m.message)).toEqual(["before", "a", "b"]);
  });

  it("Socket.IO acks carry the result instead of ERROR events", async () => {
    const { viewerClient } = await hostAndPal("socket.io");
    const sio = viewerClient as ReturnType<typeof sioClient>;
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "x".repeat(600) })).toEqual({
      ok: false,
      error: { code: "MESSAGE_TOO_LONG", message: "Message too long." },
    });
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "hi" })).toMatchObject({ ok: true });
    await sio.expectNone(100, "ERROR");
  });

  it("raw and Socket.IO clients in one room see each other's messages identically", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const viewer = await t.api.guest("Mixed");
    await t.api.join(viewer.token, room.code);
    const raw = rawClient(t.baseUrl, room.code, host.token);
    await raw.drainJoin();
    const sio = sioClient(t.baseUrl, room.code, viewer.token);
    await sio.drainJoin();
    const rawSaw = [await raw.next("ROOM_PARTICIPANTS"), await raw.next("USER_JOINED")];
    raw.send({ type: "CHAT_MESSAGE", message: "from raw" });
    sio.send({ type: "CHAT_MESSAGE", message: "from sio" });
    const a = [await raw.waitFor("CHAT_MESSAGE"), await raw.waitFor("CHAT_MESSAGE")];
    const b = [await sio.waitFor("CHAT_MESSAGE"), await sio.waitFor("CHAT_MESSAGE")];
    expect(a).toEqual(b);
    expect(rawSaw[1]).toMatchObject({ type: "USER_JOINED", user: "Mixed", user_id: viewer.id, member: { id: viewer.id }, online: 2 });
    await raw.close();
    expect(await sio.waitFor("HOST_DISCONNECTED")).toMatchObject({ grace_seconds: 300 });
  });
});

describe("chat command_id: a resend is not posted twice", () => {
  const rows = async (roomId: string) =>
    (
      await t.app.database.db.selectFrom("chat_messages").select("message").where("room_id", "=", roomId).orderBy("created_at").execute()
    ).map((r) => r.message);

  it("a resent id is acked duplicate from any tab of the same user; another user's same id is their own", async () => {
    const { host, room, viewer, hostClient, viewerClient } = await hostAndPal("socket.io");
    const sio = viewerClient as ReturnType<typeof sioClient>;
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "once", command_id: "m-1" })).toMatchObject({ ok: true, id: expect.any(String) });
    expect(await hostClient.waitFor("CHAT_MESSAGE")).toMatchObject({ message: "once", user_id: viewer.id });
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "once", command_id: "m-1" })).toEqual({ ok: true, duplicate: true });
    // The same user's raw tab: silently nothing (raw clients get no acks).
    const rawTab = rawClient(t.baseUrl, room.code, viewer.token);
    await rawTab.drainJoin();
    rawTab.send({ type: "CHAT_MESSAGE", message: "once, edited", command_id: "m-1" });
    rawTab.send({ type: "TIME_SYNC", client_ts: 1 });
    await rawTab.waitFor("TIME_SYNC"); // the resend was handled before this
    await hostClient.expectNone(100, "CHAT_MESSAGE");
    // The host's own m-1 is a different message.
    expect(
      await (hostClient as ReturnType<typeof sioClient>).emitAck("CHAT_MESSAGE", { message: "mine", command_id: "m-1" }),
    ).toMatchObject({ ok: true });
    expect(await sio.waitFor("CHAT_MESSAGE")).toMatchObject({ message: "once" });
    expect(await sio.waitFor("CHAT_MESSAGE")).toMatchObject({ message: "mine", user_id: host.id });
    expect(await rows(room.room_id)).toEqual(["once", "mine"]);
  });

  it("a refused message releases its id: once allowed, the same id posts", async () => {
    const { room, viewer, hostClient, viewerClient } = await hostAndPal("socket.io");
    const sio = viewerClient as ReturnType<typeof sioClient>;
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    await sio.waitFor("USER_MUTED");
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "let me", command_id: "m-2" })).toMatchObject({
      ok: false,
      error: { code: "MUTED" },
    });
    hostClient.send({ type: "UNMUTE_USER", user_id: viewer.id });
    await sio.waitFor("USER_MUTED");
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "let me", command_id: "m-2" })).toMatchObject({ ok: true, id: expect.any(String) });
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "let me", command_id: "m-2" })).toEqual({ ok: true, duplicate: true });
    expect(await rows(room.room_id)).toEqual(["let me"]);
  });

  it("exactly once even when an earlier try was committed but its answer lost: the resend stores nothing and the stored message goes out", async () => {
    const { room, viewer, hostClient, viewerClient } = await hostAndPal("socket.io");
    const sio = viewerClient as ReturnType<typeof sioClient>;
    // A message's id follows from its command_id...
    const first = await sio.emitAck("CHAT_MESSAGE", { message: "hello", command_id: "m-3" });
    expect(first).toMatchObject({ ok: true, id: chatMessageId(room.room_id, viewer.id, "m-3") });
    // ...so a try the database committed (the server then lost the answer, released the id and
    // broadcast nothing) is found by the resend instead of stored twice.
    const lostId = chatMessageId(room.room_id, viewer.id, "m-4");
    await t.app.database.db
      .insertInto("chat_messages")
      .values({ id: lostId, room_id: room.room_id, user_id: viewer.id, message: "committed" })
      .execute();
    expect(await sio.emitAck("CHAT_MESSAGE", { message: "committed", command_id: "m-4" })).toMatchObject({ ok: true, id: lostId });
    await hostClient.waitFor("CHAT_MESSAGE"); // hello
    expect(await hostClient.waitFor("CHAT_MESSAGE")).toMatchObject({ id: lostId, message: "committed", user_id: viewer.id });
    expect(await rows(room.room_id)).toEqual(["hello", "committed"]);
    // Another user's same command_id is another message.
    expect(chatMessageId(room.room_id, randomUUID(), "m-4")).not.toBe(lostId);
  });

  it.each(transports)("a bad command_id over %s is VALIDATION_FAILED and posts nothing", async (_n, connect) => {
    const { room, viewerClient } = await hostAndPal(connect);
    for (const command_id of ["", "x".repeat(65), "has space", "a/b", 7]) {
      viewerClient.send({ type: "CHAT_MESSAGE", message: "hi", command_id });
      expect((await viewerClient.waitFor("ERROR")).code, JSON.stringify(command_id)).toBe("VALIDATION_FAILED");
    }
    expect(await rows(room.room_id)).toEqual([]);
  });
});
