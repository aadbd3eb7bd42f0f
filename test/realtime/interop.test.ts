/** One party, two transports: raw and Socket.IO clients see the same events; typed client API. */

import type { ClientToServerEvents, ServerToClientEvents } from "@streamit/protocol";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

describe("interop", () => {
  it("a raw and a Socket.IO viewer receive identical event streams", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const [v1, v2] = [await t.api.guest("RawViewer"), await t.api.guest("SioViewer")];
    await t.api.join(v1.token, room.code);
    await t.api.join(v2.token, room.code);
    const hostClient = sioClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const raw = rawClient(t.baseUrl, room.code, v1.token);
    await raw.drainJoin();
    const sio = sioClient(t.baseUrl, room.code, v2.token);
    await sio.drainJoin();
    await raw.waitFor("USER_JOINED");
    const rawStart = raw.received.length;
    const sioStart = sio.received.length;

    await hostClient.emitAck("CHAT_MESSAGE", { message: "welcome" });
    await hostClient.emitAck("PLAY", { time: 1 });
    // Both are legacy clients: their copies of a start come at its effective moment.
    await Promise.all([raw.waitFor("PLAYBACK_STATE"), sio.waitFor("PLAYBACK_STATE")]);
    await hostClient.emitAck("MUTE_USER", { user_id: v1.id });
    await t.api.post("/api/rooms/source/", { room_id: room.room_id, provider: "vidking", video_id: "42" }, { token: host.token });
    await t.api.post("/api/rooms/chat/", { room_id: room.room_id, enabled: false }, { token: host.token });
    await hostClient.emitAck("SEEK", { time: 30 });
    await raw.waitFor("CHAT_STATUS");
    await raw.waitFor("PLAYBACK_STATE");
    await sio.waitFor("CHAT_STATUS");
    await sio.waitFor("PLAYBACK_STATE");
    const rawEvents = raw.received.slice(rawStart);
    const sioEvents = sio.received.slice(sioStart);
    expect(rawEvents.map((m) => m.type)).toEqual([
      "CHAT_MESSAGE",
      "PLAYBACK_STATE",
      "USER_MUTED",
      "SOURCE_CHANGED",
      "PLAYBACK_STATE",
      "CHAT_STATUS",
      "PLAYBACK_STATE",
    ]);
    expect(sioEvents.slice(0, rawEvents.length)).toEqual(rawEvents);
  });

  it("a typed socket.io-client gets typed events and acks", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`${t.baseUrl}/room/${room.code}`, {
      auth: { token: host.token },
      transports: ["websocket"],
      forceNew: true,
    });
    const state = await new Promise<{ version: number }>((resolve) => socket.once("PLAYBACK_STATE", resolve));
    expect(state.version).toBe(0);
    const ack = await socket.emitWithAck("PLAY", { time: 12 });
    expect(ack).toEqual({ ok: true, version: 1 });
    const sync = await socket.emitWithAck("TIME_SYNC", { client_ts: Date.now() });
    expect(sync.ok).toBe(true);
    socket.disconnect();
  });
});
