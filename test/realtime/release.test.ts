/**
 * Rooms leave nothing behind: after everyone has left, each instance's Socket.IO namespaces,
 * adapter rooms and (cluster) sharded Redis subscriptions are back where they were, whatever
 * transports visited the room, over 50 rooms on two instances.
 */
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { StreamItApp } from "../../src/app.js";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";

let t: TestApp;
let other: Awaited<ReturnType<typeof secondInstance>> | undefined;
let redis: ReturnType<typeof createClient> | undefined;
beforeAll(async () => {
  t = await startApp();
  if (backend === "cluster") {
    other = await secondInstance(t);
    redis = createClient({ url: t.config.REDIS_URL, RESP: 2 });
    await redis.connect();
  }
});
afterAll(async () => {
  await redis?.quit();
  await other?.close();
  await t?.stop();
});

/** What an instance holds for rooms: namespaces, and rooms in their adapters. */
function footprint(app: StreamItApp) {
  const nsps = [...app.realtime.io._nsps.values()];
  return { namespaces: nsps.length, adapterRooms: nsps.reduce((n, nsp) => n + nsp.adapter.rooms.size, 0) };
}

const shardChannels = async () =>
  redis ? ((await redis.sendCommand(["PUBSUB", "SHARDCHANNELS", `${t.config.REDIS_PREFIX}*`])) as string[]) : [];
const liveRooms = (app: StreamItApp) => app.realtime.hub.roomCodes.length;

describe("after everyone leaves", () => {
  it("50 rooms over both transports and two instances leave no namespace, adapter room or Redis subscription", async () => {
    const apps = [t.app, ...(other ? [other.app] : [])];
    const urls = [t.baseUrl, ...(other ? [other.baseUrl] : [])];
    const before = { apps: apps.map(footprint), channels: (await shardChannels()).sort() };
    for (let i = 0; i < 50; i += 1) {
      const host = await t.api.register();
      const room = await t.api.createRoom(host.token);
      const guest = await t.api.guest(`G${i}`);
      await t.api.join(guest.token, room.code);
      // Rooms 0-16 raw only, 17-33 Socket.IO only, the rest both; host and guest on different instances.
      const hostOverRaw = i < 17 || i >= 34;
      const guestOverRaw = i < 17;
      const hostClient: TestClient = (hostOverRaw ? rawClient : sioClient)(urls[0]!, room.code, host.token);
      await hostClient.drainJoin();
      const guestClient: TestClient = (guestOverRaw ? rawClient : sioClient)(urls[i % urls.length]!, room.code, guest.token);
      await guestClient.drainJoin();
      hostClient.send({ type: "CHAT_MESSAGE", message: `hello ${i}` });
      await guestClient.waitFor("CHAT_MESSAGE");
      // The guest leaves first (roster, USER_LEFT), then the host (HOST_DISCONNECTED, grace).
      await guestClient.close();
      await hostClient.waitFor("USER_LEFT");
      await hostClient.close();
    }
    await vi.waitFor(() => expect(apps.map(liveRooms)).toEqual(apps.map(() => 0)), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(apps.map(footprint)).toEqual(before.apps), { timeout: 10_000, interval: 50 });
    if (redis)
      await vi.waitFor(async () => expect((await shardChannels()).sort()).toEqual(before.channels), { timeout: 10_000, interval: 100 });
  }, 120_000);
});
