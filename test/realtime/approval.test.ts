/**
 * Waiting for approval: the host hears of a join request at once (JOIN_REQUESTED), and a
 * pending user's connection may wait for the answer (`wait=1`, `auth.wait`) instead of being
 * refused with 4003: approved, the normal join follows on the same connection.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ APPROVAL_WAIT_SECONDS: "2", SOCKETS_PER_USER: "2" });
});
afterAll(() => t?.stop());

const closeAll = (...clients: TestClient[]) => Promise.all(clients.map((c) => c.close()));

/** An approval room with its host connected, and a guest whose request is pending. */
async function pendingRequest(name = "Asker") {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
  const hostClient = rawClient(t.baseUrl, room.code, host.token);
  await hostClient.drainJoin();
  const asker = await t.api.guest(name);
  expect((await t.api.join(asker.token, room.code)).body).toMatchObject({ status: "PENDING" });
  return { host, room, asker, hostClient };
}

const waitingRaw = (code: string, token: string, baseUrl = t.baseUrl) =>
  rawClient(baseUrl, code, token, { query: `?token=${encodeURIComponent(token)}&wait=1` });
const waitingSio = (code: string, token: string) => sioClient(t.baseUrl, code, token, { auth: { wait: true } });

const answer = (verb: "approve" | "reject", hostToken: string, roomId: string, userId: string) =>
  t.api.post(`/api/rooms/${verb}/`, { room_id: roomId, user_id: userId }, { token: hostToken });

/** Until this instance holds `n` waiting connections (Socket.IO says nothing while it waits). */
const waiters = (n: number) => vi.waitFor(() => expect(t.app.realtime.hub.waitingForApproval).toBe(n), { timeout: 3000, interval: 10 });

describe("join requests and waiting for approval", () => {
  it("the host gets JOIN_REQUESTED once per request; a repeated request says nothing new", async () => {
    const { room, asker, hostClient } = await pendingRequest("Knocker");
    expect(await hostClient.waitFor("JOIN_REQUESTED")).toEqual({ type: "JOIN_REQUESTED", user_id: asker.id, display_name: "Knocker" });
    expect((await t.api.join(asker.token, room.code)).body).toMatchObject({ status: "PENDING" });
    await hostClient.expectNone(150, "JOIN_REQUESTED");
  });

  it("raw wait=1: JOIN_PENDING, then on approval the normal join on the same connection; frames sent while waiting are dropped", async () => {
    const { host, room, asker, hostClient } = await pendingRequest();
    const waiting = waitingRaw(room.code, asker.token);
    expect(await waiting.next()).toEqual({ type: "JOIN_PENDING", room_id: room.room_id, code: room.code, wait_seconds: 2 });
    waiting.send({ type: "CHAT_MESSAGE", message: "let me in" });
    expect((await answer("approve", host.token, room.room_id, asker.id)).status).toBe(200);
    await waiting.drainJoin();
    expect(await hostClient.waitFor("USER_JOINED")).toMatchObject({ type: "USER_JOINED", user: "Asker", user_id: asker.id, online: 2 });
    // The connection is a member now: its chat goes out; the one sent while waiting did not.
    waiting.send({ type: "CHAT_MESSAGE", message: "thanks" });
    expect(await hostClient.waitFor("CHAT_MESSAGE")).toMatchObject({ message: "thanks", user_id: asker.id });
    const chat = await t.app.database.db.selectFrom("chat_messages").select("message").where("room_id", "=", room.room_id).execute();
    expect(chat).toEqual([{ message: "thanks" }]);
    expect(t.app.realtime.hub.waitingForApproval).toBe(0);
  });

  it("Socket.IO auth.wait: the connect completes once approved, with the normal join", async () => {
    const { host, room, asker, hostClient } = await pendingRequest();
    const waiting = waitingSio(room.code, asker.token);
    await waiters(1);
    expect((await answer("approve", host.token, room.room_id, asker.id)).status).toBe(200);
    await waiting.opened;
    await waiting.drainJoin();
    await hostClient.waitFor("USER_JOINED");
  });

  it("declined: raw closes 4003 'The host declined your request', Socket.IO gets connect_error JOIN_REJECTED", async () => {
    const { host, room, asker } = await pendingRequest();
    const raw = waitingRaw(room.code, asker.token);
    await raw.next("JOIN_PENDING");
    const sio = waitingSio(room.code, asker.token);
    await waiters(2);
    expect((await answer("reject", host.token, room.room_id, asker.id)).status).toBe(200);
    expect(await raw.closed).toEqual({ code: 4003, reason: "The host declined your request" });
    const refused = await sio.connectError;
    expect(refused.message).toBe("JOIN_REJECTED");
    expect(refused.data).toEqual({ code: 4003, message: "The host declined your request" });
    expect(t.app.realtime.hub.waitingForApproval).toBe(0);
  });

  it("no answer in time: closed 4003 'Waiting for host approval' (reconnect to keep waiting); a late approval then admits at once", async () => {
    const { host, room, asker } = await pendingRequest();
    const raw = waitingRaw(room.code, asker.token);
    await raw.next("JOIN_PENDING");
    expect(await raw.closed).toEqual({ code: 4003, reason: "Waiting for host approval" });
    expect((await waitingSio(room.code, asker.token).connectError).message).toBe("NOT_APPROVED");
    await answer("approve", host.token, room.room_id, asker.id);
    const again = waitingRaw(room.code, asker.token);
    expect((await again.drainJoin())[0]!.type).toBe("CHAT_HISTORY");
    expect(again.received.some((m) => m.type === "JOIN_PENDING")).toBe(false);
  });

  it("banned or the room deleted while waiting: the waiter gets that refusal, not a join", async () => {
    const { room, asker, hostClient } = await pendingRequest();
    const raw = waitingRaw(room.code, asker.token);
    await raw.next("JOIN_PENDING");
    hostClient.send({ type: "BAN_USER", user_id: asker.id });
    expect((await raw.closed).code).toBe(4010);

    const other = await pendingRequest("Second");
    const sio = waitingSio(other.room.code, other.asker.token);
    await waiters(1);
    expect((await t.api.post("/api/rooms/delete/", { room_id: other.room.room_id }, { token: other.host.token })).status).toBe(200);
    expect((await sio.connectError).data).toMatchObject({ code: 4005 });
  });

  it("a waiter that goes away is forgotten; without wait a pending user is still refused at once", async () => {
    const { room, asker } = await pendingRequest();
    const raw = waitingRaw(room.code, asker.token);
    await raw.next("JOIN_PENDING");
    await raw.close();
    await waiters(0);
    expect(await rawClient(t.baseUrl, room.code, asker.token).closed).toEqual({ code: 4003, reason: "Waiting for host approval" });
  });

  it("waiting connections count against the open-socket limit (SOCKETS_PER_USER 2 here)", async () => {
    const { room, asker } = await pendingRequest();
    const first = waitingRaw(room.code, asker.token);
    const second = waitingRaw(room.code, asker.token);
    await Promise.all([first.next("JOIN_PENDING"), second.next("JOIN_PENDING")]);
    expect(await waitingRaw(room.code, asker.token).closed).toEqual({ code: 4029, reason: "Too many open connections for this account" });
    await first.close();
    await waiters(1);
    const third = waitingRaw(room.code, asker.token);
    await third.next("JOIN_PENDING");
  });
});

describe.runIf(backend === "cluster")("across instances", () => {
  it("a host approving on one instance admits the waiter on another", async () => {
    const second = await secondInstance(t);
    try {
      const otherUrl = second.baseUrl;
      const { host, room, asker, hostClient } = await pendingRequest();
      const waiting = waitingRaw(room.code, asker.token, otherUrl);
      await waiting.next("JOIN_PENDING");
      expect((await answer("approve", host.token, room.room_id, asker.id)).status).toBe(200);
      await waiting.drainJoin();
      expect(await hostClient.waitFor("USER_JOINED")).toMatchObject({ user_id: asker.id });
      await closeAll(waiting, hostClient);
    } finally {
      await second.close();
    }
  });
});
