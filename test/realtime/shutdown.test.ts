/**
 * Graceful shutdown of a web process: once draining, new sockets are refused (1012) and new frames
 * get SERVICE_UNAVAILABLE; a chat message already being handled still commits and is acknowledged;
 * then every client is told to reconnect (1012).
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";
import { holdChatPosts } from "../helpers/hold-chat.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

it("drains: refuses newcomers and new frames, finishes the chat in flight, then tells everyone 1012", async () => {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  const viewer = await t.api.guest("Last");
  await t.api.join(viewer.token, room.code);
  const hostClient = rawClient(t.baseUrl, room.code, host.token);
  await hostClient.drainJoin();
  const viewerClient = sioClient(t.baseUrl, room.code, viewer.token);
  await viewerClient.drainJoin();

  // Hold the viewer's chat message inside the chat service until the drain has begun.
  const { inFlight, release } = holdChatPosts(t.app);
  const ack = viewerClient.emitAck("CHAT_MESSAGE", { message: "last words" }, 15_000);
  await inFlight;

  const closing = t.app.close();
  await vi.waitFor(() => expect(t.app.realtime.hub.isDraining).toBe(true));
  const late = rawClient(t.baseUrl, room.code, viewer.token);
  expect((await late.closed).code, "a newcomer is told to reconnect elsewhere").toBe(1012);
  const lateSio = sioClient(t.baseUrl, room.code, viewer.token);
  expect((await lateSio.connectError).data).toMatchObject({ code: 1012 });
  hostClient.send({ type: "PAUSE", time: 5 });
  expect(await hostClient.waitFor("ERROR")).toMatchObject({ code: "SERVICE_UNAVAILABLE" });

  release();
  expect(await ack).toMatchObject({ ok: true, id: expect.any(String) });
  expect((await hostClient.waitFor("CHAT_MESSAGE")).message).toBe("last words");
  expect((await hostClient.closed).code).toBe(1012);
  expect((await viewerClient.closed).code).toBe(1012);
  await closing;
});
