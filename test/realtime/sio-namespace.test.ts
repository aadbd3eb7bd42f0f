/**
 * A Socket.IO joiner still being admitted when the room's last Socket.IO socket leaves: the
 * room's namespace must not be released under it (it used to be, by socket.io's empty-namespace
 * cleanup or by the hub dropping the room, and the joiner then got its own snapshot but no
 * broadcast ever again).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Admission } from "../../src/realtime/hub.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

/** Holds the admission of sockets presenting `token` until the returned release is called. */
function holdAdmission(token: string): { held: Promise<void>; release: () => void; restore: () => void } {
  const hub = t.app.realtime.hub;
  const admit = hub.admit.bind(hub);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const held = new Promise<void>((resolve) => (entered = resolve));
  hub.admit = async (...args: Parameters<typeof admit>): Promise<Admission> => {
    if (args[0] === token) {
      entered();
      await gate;
    }
    return admit(...args);
  };
  return { held, release, restore: () => void (hub.admit = admit) };
}

describe("a Socket.IO joiner admitted while the last Socket.IO socket leaves", () => {
  it.each([
    ["a raw WebSocket member stays (socket.io's own empty-namespace cleanup)", true],
    ["nobody stays (the hub drops the room)", false],
  ])("%s: the joiner still gets every broadcast", async (_label, hostStays) => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const [leaver, joiner] = [await t.api.guest("Leaver"), await t.api.guest("Joiner")];
    for (const user of [leaver, joiner]) await t.api.join(user.token, room.code);
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const leaving = sioClient(t.baseUrl, room.code, leaver.token);
    await leaving.drainJoin();
    await hostClient.waitFor("USER_JOINED");
    if (!hostStays) await hostClient.close();

    const gate = holdAdmission(joiner.token);
    const joining = sioClient(t.baseUrl, room.code, joiner.token);
    await gate.held;
    await leaving.close();
    if (hostStays) expect(await hostClient.waitFor("USER_LEFT")).toMatchObject({ user_id: leaver.id });
    else await waitUntilRoomDropped(room.code);
    gate.release();
    gate.restore();

    const joined = await joining.drainJoin();
    expect(joined.find((m) => m.type === "ROOM_PARTICIPANTS")).toBeTruthy();
    const controller = hostStays ? hostClient : rawClient(t.baseUrl, room.code, host.token);
    if (!hostStays) await controller.drainJoin();
    controller.send({ type: "PAUSE", time: 7 });
    expect(await joining.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 7 });
    controller.send({ type: "CHAT_MESSAGE", message: "can you hear me" });
    expect((await joining.waitFor("CHAT_MESSAGE")).message).toBe("can you hear me");
  });
});

/** Waits until this instance holds no live room for the code (its last member left). */
async function waitUntilRoomDropped(code: string): Promise<void> {
  const hub = t.app.realtime.hub;
  await vi.waitFor(() => expect(hub.roomCodes, "the room was never dropped").not.toContain(code), { timeout: 5000, interval: 10 });
}
