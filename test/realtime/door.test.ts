/**
 * The socket door under attack: engine.io connections that never join a room, one connection
 * opening many rooms, oversized Socket.IO messages, and admissions that fail for the server's own
 * reasons (1013, never 1011).
 */

import { MAX_FRAME_BYTES } from "@streamit/protocol";
import { Manager } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { MAX_ROOMS_PER_CONNECTION } from "../../src/realtime/engine-gate.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, transports } from "../helpers/clients.js";
import { closeTestClients } from "../helpers/open-clients.js";

/** The app most tests share; `t` is one a test started with settings of its own. */
let shared: TestApp;
let t: TestApp | undefined;
beforeAll(async () => {
  shared = await startApp();
});
afterAll(() => shared?.stop());
afterEach(async () => {
  vi.restoreAllMocks();
  // The test's clients leave before its own server stops (the setup's hook would run after this one).
  await closeTestClients();
  await t?.stop();
  t = undefined;
});

/** A bare engine.io WebSocket that asks for namespace `nsp` and then just stays (an attacker). */
function engineClient(baseUrl: string, nsp: string) {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  let answered!: (packet: string) => void;
  const answer = new Promise<string>((resolve) => (answered = resolve));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {});
  socket.on("message", (data) => {
    const packet = data.toString();
    if (packet.startsWith("0"))
      socket.send(nsp === "/" ? "40" : `40${nsp},`); // open → CONNECT
    else if (packet === "2")
      socket.send("3"); // ping → pong: it looks alive
    else if (packet.startsWith("4")) answered(packet);
  });
  void closed.then(() => answered("closed"));
  return { socket, answer, closed };
}

describe("engine.io connections that never join a room", () => {
  it("1,000 connections to / from one address: refused, at most the per-address cap stays open, and only for seconds; the service keeps answering", async () => {
    const cap = 20;
    t = await startApp({ TRUST_PROXY: "false", SOCKETS_PER_CLIENT: String(cap), SOCKET_CONNECTS_PER_MINUTE: "100000" });
    const engine = t.app.realtime.io.engine;
    const attackers = Array.from({ length: 1000 }, () => engineClient(t!.baseUrl, "/"));
    const answers = await Promise.all(attackers.map((a) => a.answer));
    // Every one was refused: a CONNECT_ERROR for `/`, or closed as one over the address's budget.
    expect(
      answers.filter((a) => a !== "closed" && !a.startsWith("44")),
      "only refusals",
    ).toEqual([]);
    expect(answers.filter((a) => a.startsWith("44")).length).toBeGreaterThan(0);
    // Those over the cap go within a second; the others once they have held no room for a few seconds.
    await vi.waitFor(() => expect(engine.clientsCount).toBeLessThanOrEqual(cap), { timeout: 4000, interval: 50 });
    const health = await fetch(`${t.baseUrl}/health/`);
    expect(health.status).toBe(200);
    await Promise.all(attackers.map((a) => a.closed));
    expect(engine.clientsCount).toBe(0);

    // The address is welcome again with a real client.
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = sioClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
  }, 60_000);

  it("the root namespace is refused with a connect_error that names the room path", async () => {
    const manager = new Manager(shared.baseUrl, { transports: ["websocket"], reconnection: false, forceNew: true });
    const root = manager.socket("/");
    const error = await new Promise<Error & { data?: { code: number; message: string } }>((resolve) => root.once("connect_error", resolve));
    expect(error.message).toBe("ROOM_NOT_FOUND");
    expect(error.data).toEqual({ code: 4002, message: "Connect to a room: /room/<code>" });
    root.close();
  });
});

describe("one Socket.IO connection, many rooms", () => {
  it(`at most ${MAX_ROOMS_PER_CONNECTION} rooms per connection: the next is refused with 4029, no listener leak warning`, async () => {
    const t = shared;
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const host = await t.api.register();
    const codes = [];
    for (let i = 0; i <= MAX_ROOMS_PER_CONNECTION; i += 1) codes.push((await t.api.createRoom(host.token)).code);
    const manager = new Manager(t.baseUrl, { transports: ["websocket"], reconnection: false, forceNew: true });
    const outcomes = await Promise.all(
      codes.map((code) => {
        const socket = manager.socket(`/room/${code}`, { auth: { token: host.token } });
        return new Promise<string>((resolve) => {
          socket.once("connect", () => resolve("connected"));
          socket.once("connect_error", (err: Error & { data?: { code: number } }) => resolve(`refused ${err.data?.code}`));
        });
      }),
    );
    expect(outcomes.filter((o) => o === "connected")).toHaveLength(MAX_ROOMS_PER_CONNECTION);
    expect(outcomes.filter((o) => o !== "connected")).toEqual(["refused 4029"]);
    manager.engine.close();
    process.off("warning", onWarning);
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
  });
});

describe.each(transports)("one message size limit over %s", (_name, connect) => {
  it(`a message over ${MAX_FRAME_BYTES} bytes gets VALIDATION_FAILED, and the connection stays usable`, async () => {
    const t = shared;
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    client.send({ type: "CHAT_MESSAGE", message: "x".repeat(MAX_FRAME_BYTES + 100) });
    expect(await client.waitFor("ERROR")).toMatchObject({
      code: "VALIDATION_FAILED",
      message: `Message too large (limit ${MAX_FRAME_BYTES} bytes)`,
    });
    client.send({ type: "CHAT_MESSAGE", message: "still here" });
    expect((await client.waitFor("CHAT_MESSAGE")).message).toBe("still here");
  });
});

describe.each(transports)("a failure of the server's own during admission or join over %s", (_name, connect) => {
  it("a dependency timing out during admission closes with 1013, never 1011", async () => {
    const t = shared;
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    // What pg-pool throws when every connection stays busy for longer than its connect timeout.
    vi.spyOn(t.app.services.auth, "authenticate").mockRejectedValue(new Error("timeout exceeded when trying to connect"));
    const client = connect(t.baseUrl, room.code, host.token);
    expect(await client.closed).toMatchObject({ code: 1013 });
  });

  it("an unexpected error in the join sequence closes with 1013, never 1011", async () => {
    const t = shared;
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    vi.spyOn(t.app.realtime.state.presence, "connect").mockRejectedValue(new TypeError("something broke"));
    const client = connect(t.baseUrl, room.code, host.token);
    expect(await client.closed).toMatchObject({ code: 1013 });
    vi.restoreAllMocks();
    const again = connect(t.baseUrl, room.code, host.token);
    await again.drainJoin();
  });
});

describe("the raw path counts every connection against its address", () => {
  it("an address over SOCKETS_PER_CLIENT is refused with 4029 before any token work, whatever the token", async () => {
    t = await startApp({ SOCKETS_PER_CLIENT: "2" });
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const open = [rawClient(t.baseUrl, room.code, host.token), rawClient(t.baseUrl, room.code, host.token)];
    for (const c of open) await c.drainJoin();
    const spy = vi.spyOn(t.app.services.auth, "authenticate");
    expect(await rawClient(t.baseUrl, room.code, "not-a-token").closed).toMatchObject({ code: 4029 });
    expect(spy).not.toHaveBeenCalled();
  });
});
