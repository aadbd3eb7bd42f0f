/**
 * Property-based fuzzing (fast-check) of every client→server message on both transports and of
 * every REST operation. Thousands of generated frames and requests per run; the properties: no
 * crash, no 5xx, no socket closed with 1011, no state changed by an unauthorised sender, and
 * the room still works afterwards. A failing run prints its seed; replay it with
 * FUZZ_SEED=<seed>, then add the counterexample to REGRESSIONS below.
 */

import { clientMessages, parseClientMessage } from "@streamit/protocol";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
// A live server is stateful: shrinking would replay against a changed room, so stop at the first failure.
const runs = (n: number) => ({ numRuns: Number(process.env.FUZZ_RUNS ?? n), endOnFailure: true, ...(seed !== undefined ? { seed } : {}) });

const MESSAGE_TYPES = Object.keys(clientMessages);

/** Frames found by earlier runs (and classics), always replayed. */
const REGRESSIONS: unknown[] = [
  { type: "__proto__" },
  { type: "constructor", time: 1 },
  { type: "PLAY", time: "1e400" },
  { type: "PLAY", time: -0 },
  { type: "SEEK", time: 1e7 + 1 },
  { type: "CHAT_MESSAGE", message: "\u0000" },
  { type: "CHAT_MESSAGE", message: "\ud800" },
  { type: "PLAYER_EVENT", data: null },
  { type: "PLAYER_EVENT", data: { event: "ended", progress: Number.MAX_VALUE } },
  { type: "MUTE_USER", user_id: "00000000-0000-0000-0000-000000000000" },
  { type: "TIME_SYNC", client_ts: null },
  { type: "SYNC_REPORT", position: 1e7, rtt_ms: 60_000, buffering: false },
  { type: "SYNC_REPORT", position: 0, rtt_ms: 1e308, buffering: true },
  { type: "UNDO_SEEK" },
  { type: "MUTE_USER", user_id: "00000000-0000-0000-0000-000000000000", reason: " ", duration_seconds: 2_592_000 },
];

/** Values of every JSON kind, with the edge cases validators tend to miss. */
const fieldValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -1, 1e7, 1e308, -1e308, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.uuid(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 3 }),
);

/** Message-shaped objects: a known (or near-miss) type and fields of any kind. */
const structured = (userIds: string[]) =>
  fc.record(
    {
      type: fc.oneof(
        fc.constantFrom(...MESSAGE_TYPES),
        fc.constantFrom("__proto__", "toString", "play", "PLAY ", ""),
        fc.string({ maxLength: 16 }),
      ),
      time: fieldValue,
      message: fc.oneof(fieldValue, fc.string({ maxLength: 600 })),
      user_id: userIds.length ? fc.oneof(fc.constantFrom(...userIds), fieldValue) : fieldValue,
      client_time: fieldValue,
      client_ts: fieldValue,
      position: fc.oneof(fc.double({ min: 0, max: 1e7, noNaN: true }), fieldValue),
      rtt_ms: fc.oneof(fc.integer({ min: 0, max: 60_000 }), fieldValue),
      buffering: fc.oneof(fc.boolean(), fieldValue),
      reason: fc.oneof(fieldValue, fc.string({ maxLength: 260 })),
      duration_seconds: fc.oneof(fieldValue, fc.integer({ min: -1, max: 31 * 24 * 3600 })),
      command_id: fieldValue,
      data: fc.oneof(
        fieldValue,
        fc.record(
          {
            event: fc.oneof(fc.constantFrom("ended", "timeupdate", "pause", "seeked"), fieldValue),
            currentTime: fieldValue,
            duration: fieldValue,
            progress: fieldValue,
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: ["type"] },
  );

/** Anything a raw WebSocket client can send. */
const rawFrame = (userIds: string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: structured(userIds).map((m) => ({ text: JSON.stringify(m) })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v) ?? "null" })) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((text) => ({ text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ binary: Buffer.from(bytes) })) },
  );

describe("the message validator", () => {
  it("never throws, and accepts exactly what the message's schema accepts (5,000 frames)", () => {
    fc.assert(
      fc.property(fc.oneof(structured([]), fc.jsonValue({ maxDepth: 3 }), fc.anything()), (frame) => {
        const result = parseClientMessage(frame);
        if (result.ok) {
          expect(clientMessages[result.message.type].safeParse(frame).success).toBe(true);
        } else {
          expect(["VALIDATION_FAILED", "UNKNOWN_EVENT"]).toContain(result.error.code);
          expect(result.error.message.length).toBeLessThan(300);
        }
      }),
      { ...runs(5000), examples: REGRESSIONS.map((r) => [r]) },
    );
  });
});

/** A public room with a host and `size` approved viewers, all connected over `transport`. */
async function crowd(transport: "ws" | "socket.io", size: number) {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  const connect = (token: string) => (transport === "ws" ? rawClient(t.baseUrl, room.code, token) : sioClient(t.baseUrl, room.code, token));
  const viewers: { id: string; client: TestClient }[] = [];
  for (let i = 0; i < size; i += 1) {
    const guest = await t.api.guest(`Fuzzer${i}`);
    await t.api.join(guest.token, room.code);
    const client = connect(guest.token);
    await client.drainJoin();
    viewers.push({ id: guest.id, client });
  }
  const hostClient = connect(host.token);
  await hostClient.drainJoin();
  return { host, room, viewers, hostClient, connect };
}

/** What no viewer may change: playback, bans, mutes, participants, the room itself. */
async function roomState(roomId: string, hostId: string) {
  const db = t.app.database.db;
  const [room, playback, bans, participants] = await Promise.all([
    db
      .selectFrom("rooms")
      .select(["state", "host_id", "video_id", "is_chat_enabled", "entry_mode", "entry_password_hash"])
      .where("id", "=", roomId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom("playback_states")
      .select(["version", "is_playing", "position_seconds"])
      .where("room_id", "=", roomId)
      .executeTakeFirstOrThrow(),
    db.selectFrom("room_bans").select("user_id").where("room_id", "=", roomId).execute(),
    db.selectFrom("room_participants").select(["user_id", "status"]).where("room_id", "=", roomId).orderBy("user_id").execute(),
  ]);
  return { room, playback, bans, participants, hostMuted: await t.app.realtime.state.mutes.isMuted(roomId, hostId) };
}

describe.each(["ws", "socket.io"] as const)("viewers sending generated frames over %s", (transport) => {
  it("never crash the server, never get 1011, change nothing they may not, and the room still works", { timeout: 120_000 }, async () => {
    const { host, room, viewers, hostClient } = await crowd(transport, 24);
    const ids = [host.id, ...viewers.map((v) => v.id)];
    const before = await roomState(room.room_id, host.id);
    let probe = 0;
    let turn = 0;
    const closes: number[] = [];

    await fc
      .assert(
        fc.asyncProperty(rawFrame(ids), fc.string({ maxLength: 24 }), async (frame, eventName) => {
          // Round robin over the viewers keeps each under its flood budget.
          const viewer = viewers[turn++ % viewers.length]!;
          const client = viewer.client as unknown as FuzzClient;
          if (transport === "ws") {
            if ("binary" in frame) client.sendRaw(frame.binary!, true);
            else client.sendRaw(frame.text!);
          } else {
            // Socket.IO: an arbitrary event name (or the frame's type) with any payload shape.
            const parsed = "text" in frame ? safeJson(frame.text!) : frame.binary;
            const name = isPlainObject(parsed) && typeof parsed.type === "string" && parsed.type ? parsed.type : eventName || "x";
            if (!RESERVED.has(name)) client.socket.emit(name, parsed);
          }
          // A probe after the frame: its answer proves the frame was handled and the socket lives.
          probe += 1;
          if (transport === "ws") {
            client.send({ type: "TIME_SYNC", client_ts: probe });
            await probeReply(client, probe);
          } else {
            const ack = await client.emitAck("TIME_SYNC", { client_ts: probe });
            expect(ack).toMatchObject({ ok: true });
          }
        }),
        { ...runs(400), examples: REGRESSIONS.map((r) => [{ text: JSON.stringify(r) }, ""] as [{ text: string }, string]) },
      )
      .finally(async () => {
        for (const { client } of viewers) {
          const outcome = await Promise.race([client.closed, new Promise<null>((r) => setTimeout(() => r(null), 0))]);
          if (outcome) closes.push(outcome.code);
        }
      });
    expect(closes.filter((c) => c === 1011)).toEqual([]);

    // Viewers may chat; nothing else of the room may have changed.
    expect(await roomState(room.room_id, host.id)).toEqual(before);
    // The room still works: a playback command reaches every viewer.
    hostClient.send({ type: "PAUSE", time: 42 });
    for (const { client } of viewers) {
      const state = await client.waitFor("PLAYBACK_STATE");
      expect(state).toMatchObject({ time: 42, is_playing: false, version: before.playback.version + 1 });
    }
    expect((await t.api.get("/api/health/")).status).toBe(200);
  });
});

describe("the host sending generated frames", () => {
  it.each(["ws", "socket.io"] as const)(
    "over %s: never crashes the server or closes with 1011; the room still works",
    { timeout: 120_000 },
    async (transport) => {
      const { host, viewers, hostClient } = await crowd(transport, 2);
      const ids = [host.id, ...viewers.map((v) => v.id)];
      // Kick and ban are the host's right; keep the viewers, fuzz everything else.
      const harmless = rawFrame(ids).filter((f) => !("text" in f) || !/KICK_USER|BAN_USER/.test(f.text!));
      let probe = 0;
      await fc.assert(
        fc.asyncProperty(harmless, async (frame) => {
          const client = hostClient as unknown as FuzzClient;
          probe += 1;
          if (transport === "ws") {
            if ("binary" in frame) client.sendRaw(frame.binary!, true);
            else client.sendRaw(frame.text!);
            client.send({ type: "TIME_SYNC", client_ts: probe });
            await probeReply(client, probe);
          } else {
            const parsed = "text" in frame ? safeJson(frame.text!) : frame.binary;
            const name = isPlainObject(parsed) && typeof parsed.type === "string" && parsed.type ? parsed.type : "x";
            if (!RESERVED.has(name)) client.socket.emit(name, parsed);
            expect(await client.emitAck("TIME_SYNC", { client_ts: probe })).toMatchObject({ ok: true });
          }
          // The host's own flood budget refills at 20/s (two messages per run): stay under it.
          await new Promise((r) => setTimeout(r, 110));
        }),
        runs(150),
      );
      hostClient.send({ type: "SEEK", time: 7777 });
      for (const { client } of viewers) {
        let state: Awaited<ReturnType<typeof client.waitFor>>;
        do state = await client.waitFor("PLAYBACK_STATE");
        while (state.time !== 7777);
      }
    },
  );
});

describe("REST operations with generated bodies, queries and path parameters", () => {
  it("answer every request with JSON and never a 5xx, and leave another host's room untouched", { timeout: 180_000 }, async () => {
    const owner = await t.api.register();
    const target = await t.api.createRoom(owner.token, { is_private: true, entry_mode: "PASSWORD" });
    const before = await roomState(target.room_id, owner.id);
    const attacker = await t.api.register();
    const schema = await t.api.get("/api/schema/");
    const operations = Object.entries(schema.body.paths as Record<string, Record<string, { requestBody?: unknown }>>).flatMap(
      ([path, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== "head")
          .map((method) => ({ method: method.toUpperCase(), path })),
    );
    // Logout would end the attacker's session: it is fuzzed too, but with throwaway tokens.
    const pathParam = fc.oneof(fc.constantFrom(target.code, target.room_id, owner.id, "ABC123"), fc.uuid(), fc.string({ maxLength: 12 }));
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          code: fc.oneof(fc.constant(target.code), fieldValue),
          room_id: fc.oneof(fc.constant(target.room_id), fieldValue),
          user_id: fc.oneof(fc.constant(owner.id), fieldValue),
          password: fieldValue,
          email: fieldValue,
          display_name: fieldValue,
          username: fieldValue,
          is_private: fieldValue,
          entry_mode: fc.oneof(fc.constantFrom("PUBLIC", "PASSWORD", "APPROVAL"), fieldValue),
          enabled: fieldValue,
          media_id: fieldValue,
          media_type: fc.oneof(fc.constantFrom("movie", "tv"), fieldValue),
          season: fieldValue,
          episode: fieldValue,
          timestamp: fieldValue,
          refresh_token: fieldValue,
          provider: fieldValue,
          external_id: fieldValue,
        },
        { requiredKeys: [] },
      ),
    );
    const query = fc.dictionary(
      fc.constantFrom("q", "limit", "offset", "page", "code", "media_id", "media_type", "season", "episode", "type", "before"),
      fieldValue,
      { maxKeys: 3 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...operations), pathParam, body, query, fc.boolean(), async (op, param, payload, params, authed) => {
        const path = op.path.replace(/\{[^}]+\}/g, encodeURIComponent(String(param)));
        const search = new URLSearchParams(
          Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v)]),
        ).toString();
        const token = op.path.includes("logout") ? (await t.api.guest("Throwaway")).token : attacker.token;
        const res = await t.api.request(
          op.method,
          path + (search ? `?${search}` : ""),
          ["GET", "DELETE"].includes(op.method) ? undefined : payload,
          authed ? { token } : {},
        );
        // The one documented 5xx: catalogue search without a TMDB key (503 PROVIDER_UNAVAILABLE).
        if (!(res.status === 503 && res.body?.code === "PROVIDER_UNAVAILABLE")) {
          expect(res.status, `${op.method} ${path}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
        }
        expect(res.headers.get("content-type") ?? "", `${op.method} ${path}`).toMatch(/application\/json/);
      }),
      runs(1500),
    );
    expect(await roomState(target.room_id, owner.id)).toEqual(before);
    expect((await t.api.get("/api/health/")).status).toBe(200);
  });
});

/** What the fuzzers use of either test client (raw frames, or any Socket.IO event). */
type FuzzClient = TestClient & {
  sendRaw(data: string | Buffer, binary?: boolean): void;
  socket: { emit(event: string, ...args: unknown[]): unknown };
  emitAck(type: string, payload?: unknown): Promise<unknown>;
};

/** Skips TIME_SYNC replies to generated frames until the probe's own arrives. */
async function probeReply(client: TestClient, probe: number): Promise<void> {
  for (;;) {
    const reply = await client.waitFor("TIME_SYNC");
    if (reply.client_ts === probe) return;
  }
}

const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
