/** Hostile input never crashes, wedges or closes a connection, and state stays consistent. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

async function hostIn() {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  return { host, room };
}

describe("raw WebSocket", () => {
  it("answers garbage with ERROR and stays usable", async () => {
    const { host, room } = await hostIn();
    const client = rawClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    const cases: [string | Buffer, boolean, string][] = [
      ["not json", false, "VALIDATION_FAILED"],
      ["[1,2,3]", false, "VALIDATION_FAILED"],
      ["42", false, "VALIDATION_FAILED"],
      ["null", false, "VALIDATION_FAILED"],
      ['"PLAY"', false, "VALIDATION_FAILED"],
      ["{}", false, "VALIDATION_FAILED"],
      ['{"type":""}', false, "VALIDATION_FAILED"],
      ['{"type":42}', false, "VALIDATION_FAILED"],
      ['{"type":"DANCE"}', false, "UNKNOWN_EVENT"],
      ['{"type":"__proto__"}', false, "UNKNOWN_EVENT"],
      ['{"type":"toString"}', false, "UNKNOWN_EVENT"],
      ['{"type":"PLAY","time":1e999}', false, "VALIDATION_FAILED"],
      ['{"type":"PLAY","time":"NaN"}', false, "VALIDATION_FAILED"],
      ['{"type":"SYNC_CHECK","client_time":-1e999}', false, "VALIDATION_FAILED"],
      ['{"type":"CHAT_MESSAGE","message":null}', false, "VALIDATION_FAILED"],
      ['{"type":"CHAT_MESSAGE","message":{"$gt":""}}', false, "VALIDATION_FAILED"],
      ['{"type":"PLAYER_EVENT","data":null}', false, "VALIDATION_FAILED"],
      ['{"type":"MUTE_USER","user_id":["x"]}', false, "VALIDATION_FAILED"],
      [Buffer.from([0, 1, 2, 255]), true, "VALIDATION_FAILED"],
      [JSON.stringify({ type: "CHAT_MESSAGE", message: "x".repeat(20_000) }), false, "VALIDATION_FAILED"],
    ];
    for (const [frame, binary, code] of cases) {
      client.sendRaw(frame, binary);
      const error = await client.next("ERROR");
      expect(error.code, String(frame).slice(0, 60)).toBe(code);
      expect(typeof error.message).toBe("string");
    }
    client.send({ type: "CHAT_MESSAGE", message: "still alive" });
    expect((await client.next("CHAT_MESSAGE")).message).toBe("still alive");
  });

  it("oversized frames past the hard cap close with 1009, never 1011; the server keeps serving", async () => {
    const { host, room } = await hostIn();
    const client = rawClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    client.sendRaw("x".repeat(200_000));
    expect((await client.closed).code).toBe(1009);
    const again = rawClient(t.baseUrl, room.code, host.token);
    await again.drainJoin();
  });

  it("a flood is throttled: one RATE_LIMITED warning, the rest dropped, then service resumes", async () => {
    const { host, room } = await hostIn();
    const client = rawClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    for (let i = 0; i < 300; i += 1) client.send({ type: "TIME_SYNC", client_ts: i });
    // A bounded wait on purpose: what is checked is also what does NOT come (the dropped rest, a
    // second warning), and no event marks "the server is done with the flood".
    await new Promise((r) => setTimeout(r, 500));
    const replies = client.received.filter((m) => m.type === "TIME_SYNC").length;
    const warnings = client.received.filter((m) => m.type === "ERROR" && m.code === "RATE_LIMITED").length;
    expect(replies).toBeGreaterThanOrEqual(40);
    expect(replies).toBeLessThan(300);
    expect(warnings).toBeGreaterThanOrEqual(1);
    expect(warnings).toBeLessThanOrEqual(2);
    // Time is the point: the flood budget refills over a second (no event says so); a probe sent
    // earlier would be dropped and then counted as a failure to resume.
    await new Promise((r) => setTimeout(r, 1100));
    client.send({ type: "TIME_SYNC", client_ts: -1 });
    let reply: Awaited<ReturnType<typeof client.waitFor>>;
    do reply = await client.waitFor("TIME_SYNC");
    while (reply.client_ts !== -1);
    expect(reply.client_ts).toBe(-1);
  });
});

describe("Socket.IO", () => {
  it("unknown events, non-object payloads and bad fields get coded errors, by ack or ERROR event", async () => {
    const { host, room } = await hostIn();
    const client = sioClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    expect(await client.emitAck("DANCE", {})).toEqual({
      ok: false,
      error: { code: "UNKNOWN_EVENT", message: "Unknown event type: DANCE" },
    });
    expect((await client.emitAck("PLAY", "fast")).error.code).toBe("VALIDATION_FAILED");
    expect((await client.emitAck("PLAY", [1])).error.code).toBe("VALIDATION_FAILED");
    expect((await client.emitAck("PLAY", { time: -5 })).error.code).toBe("VALIDATION_FAILED");
    client.socket.emit("SEEK", 12);
    expect((await client.waitFor("ERROR")).code).toBe("VALIDATION_FAILED");
    client.socket.emit("NOPE");
    expect((await client.waitFor("ERROR")).code).toBe("UNKNOWN_EVENT");
    // The payload's own `type` cannot redirect the event.
    expect(await client.emitAck("TIME_SYNC", { type: "PLAY", client_ts: 5, time: 1 })).toMatchObject({
      ok: true,
      server_ts: expect.any(Number),
    });
    expect(await client.emitAck("PLAY", { time: 3 })).toEqual({ ok: true, version: 1 });
  });

  it("binary payloads are refused", async () => {
    const { host, room } = await hostIn();
    const client = sioClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    expect((await client.emitAck("CHAT_MESSAGE", { message: Buffer.from("hi") })).error.code).toBe("VALIDATION_FAILED");
  });
});
