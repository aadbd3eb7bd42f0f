/**
 * A client that stops reading must not make the server hold the room's traffic for it without
 * bound: once its unsent backlog passes SOCKET_SEND_BUFFER_BYTES it is dropped (4008) and the
 * room carries on. The client really stops reading (its WebSocket is paused, so the TCP window
 * closes); the room's traffic is 64 KB messages sent through the hub, about 12 MB, more than the
 * loopback socket buffers (~3–4 MB) plus the bound.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { sample, scrape } from "../helpers/metrics.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ SOCKET_SEND_BUFFER_BYTES: String(256 * 1024) });
});
afterAll(() => t?.stop());

const BIG = "x".repeat(64 * 1024);
const ROUNDS = 200;

/** Stops reading from the socket: the server's writes pile up in the kernel, then in the server. */
function pause(client: TestClient & { socket: unknown }): void {
  if (client.kind === "ws") (client.socket as WebSocket).pause();
  else (client.socket as { io: { engine: { transport: { ws: WebSocket } } } }).io.engine.transport.ws.pause();
}

describe.each(["ws", "socket.io"] as const)("a viewer that stops reading (%s)", (kind) => {
  it("is dropped once its backlog passes the bound; readers on both transports get everything; the room works", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const [fastRaw, fastSio, slow] = await Promise.all([t.api.guest("FastRaw"), t.api.guest("FastSio"), t.api.guest("Stalled")]);
    for (const user of [fastRaw, fastSio, slow]) expect((await t.api.join(user.token, room.code)).status).toBe(200);

    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const readers = [rawClient(t.baseUrl, room.code, fastRaw.token), sioClient(t.baseUrl, room.code, fastSio.token)];
    for (const reader of readers) await reader.drainJoin();
    const stalled = kind === "ws" ? rawClient(t.baseUrl, room.code, slow.token) : sioClient(t.baseUrl, room.code, slow.token);
    await stalled.drainJoin();
    for (const reader of [hostClient, ...readers]) {
      while ((await reader.waitFor("USER_JOINED")).user_id !== slow.id);
    }
    const cuts = async () => sample(await scrape(`${t.baseUrl}/metrics`), "streamit_slow_consumer_disconnects_total", { transport: kind });
    const cutsBefore = await cuts();
    pause(stalled);

    const hub = t.app.realtime.hub;
    for (let i = 0; i < ROUNDS; i += 1) {
      // A steady stream (each message out before the next), not one burst: what is measured is a
      // reader that stopped, not how big a single burst may be.
      await hub.sendHere(room.code, {
        type: "CHAT_MESSAGE",
        id: randomUUID(),
        user: "Load",
        user_id: host.id,
        message: BIG,
        created_at: new Date().toISOString(),
      });
      await new Promise((resolve) => setImmediate(resolve));
    }

    // The stalled viewer is gone for everyone else, and nobody else lost anything.
    let left: Awaited<ReturnType<typeof hostClient.waitFor>>;
    do left = await hostClient.waitFor("USER_LEFT", 15_000);
    while (left.user_id !== slow.id);
    expect(await cuts()).toBe(cutsBefore + 1);
    for (const reader of readers) {
      let got = 0;
      while (got < ROUNDS) if ((await reader.waitFor("CHAT_MESSAGE", 15_000)).message === BIG) got += 1;
    }
    hostClient.send({ type: "PAUSE", time: 42 });
    for (const reader of readers) expect(await reader.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 42 });
    const roster = await t.api.get(`/api/rooms/participants/?room_id=${room.room_id}`, { token: host.token });
    expect(roster.status).toBe(200);

    // It can come back: a fresh connection gets a fresh snapshot.
    const again = kind === "ws" ? rawClient(t.baseUrl, room.code, slow.token) : sioClient(t.baseUrl, room.code, slow.token);
    expect((await again.drainJoin()).map((m) => m.type).sort()).toEqual(["CHAT_HISTORY", "PLAYBACK_STATE", "ROOM_PARTICIPANTS"]);
  }, 60_000);
});

describe("a burst is not a stalled reader", () => {
  it("readers sent a burst of three times the bound in one go keep their connections and get all of it", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const [a, b] = await Promise.all([t.api.guest("BurstRaw"), t.api.guest("BurstSio")]);
    for (const user of [a, b]) expect((await t.api.join(user.token, room.code)).status).toBe(200);
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const readers = [rawClient(t.baseUrl, room.code, a.token), sioClient(t.baseUrl, room.code, b.token)];
    for (const reader of readers) await reader.drainJoin();
    const hub = t.app.realtime.hub;
    // 12 × 64 KB against a 256 KB bound, all handed over before any of it can be written out.
    const burst = Array.from({ length: 12 }, () =>
      hub.sendHere(room.code, {
        type: "CHAT_MESSAGE",
        id: randomUUID(),
        user: "Load",
        user_id: host.id,
        message: BIG,
        created_at: new Date().toISOString(),
      }),
    );
    await Promise.all(burst);
    for (const reader of readers) {
      for (let got = 0; got < 12; got += 1) expect((await reader.waitFor("CHAT_MESSAGE", 10_000)).message).toBe(BIG);
    }
    hostClient.send({ type: "PAUSE", time: 7 });
    for (const reader of readers) expect(await reader.waitFor("PLAYBACK_STATE")).toMatchObject({ time: 7 });
    for (const reader of readers) expect(reader.received.filter((m) => m.type === "CLOSE")).toEqual([]);
    await hostClient.expectNone(200, "USER_LEFT");
  });
});
