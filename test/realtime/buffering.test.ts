/**
 * The buffering policy over both transports: a viewer's SYNC_REPORT `buffering` pauses a playing
 * room (wait_for_all, or wait_for_share below its ready share) and the room plays again, at a
 * scheduled moment, when they are ready, when the share is ready, or at the deadline (whoever
 * still buffers is then catching up and cools down); the host's PLAY ends a wait; `never` does
 * nothing; the host alone sets the policy. In cluster mode also across two instances.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend, secondInstance, startApp, type TestApp } from "../helpers/app.js";
import type { Message, TestClient } from "../helpers/clients.js";
import { transports } from "../helpers/clients.js";
import { type Account, guest, party, type Transport } from "../helpers/party.js";

/** The least lead of a scheduled start here: a resume's PLAYBACK_STATE is at least this far after the report that caused it. */
const LEAD_MS = 150;
let t: TestApp;
beforeAll(async () => {
  // No grace after a start: a test's report right after the host's PLAY counts.
  t = await startApp({ BUFFERING_START_GRACE_MS: "0", START_LEAD_MIN_MS: String(LEAD_MS), START_LEAD_MAX_MS: "400" });
});
afterAll(() => t?.stop());

const report = (buffering: boolean, position = 1) => ({ type: "SYNC_REPORT", position, rtt_ms: 0, buffering });

/** The first unread message of `type` that `matches` (those before it are read). */
async function until(client: TestClient, type: string, matches: (m: Message) => boolean = () => true): Promise<Message> {
  for (;;) {
    const message = await client.waitFor(type);
    if (matches(message)) return message;
  }
}

const playing = (client: TestClient, is = true) => until(client, "PLAYBACK_STATE", (m) => m.is_playing === is);

async function setPolicy(host: Account, roomId: string, body: Record<string, unknown>) {
  const res = await t.api.post("/api/rooms/buffering/", { room_id: roomId, ...body }, { token: host.token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** The host starts the room from 0; everyone sees it play. */
async function start(clients: TestClient[]): Promise<void> {
  clients[0]!.send({ type: "PLAY", time: 0 });
  await Promise.all(clients.map((c) => playing(c)));
}

const bufferingEvents = async (roomId: string) =>
  (
    await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "data", "actor_id"])
      .where("room_id", "=", roomId)
      .where("event", "like", "buffering.%")
      .orderBy("seq")
      .execute()
  ).map((e): Record<string, any> => ({ event: e.event, actor_id: e.actor_id, ...(e.data as Record<string, unknown>) }));

const hostAndBob = (connect: Transport) => party(t, { transport: connect, members: { bob: guest("Bob") }, hostSeesJoin: true });

describe.each(transports)("the buffering policy over %s", (_name, connect) => {
  it("wait_for_all: a viewer who buffers pauses the room; ready, the room plays again at a scheduled moment", async () => {
    const { host, room, bob, hostClient, bobClient } = await hostAndBob(connect);
    expect(await setPolicy(host, room.room_id, { policy: "wait_for_all", max_wait_seconds: 30 })).toEqual({
      room_id: room.room_id,
      policy: "wait_for_all",
      max_wait_seconds: 30,
      ready_percent: 75,
    });
    expect(await bobClient.waitFor("BUFFERING_POLICY")).toEqual({
      type: "BUFFERING_POLICY",
      policy: "wait_for_all",
      max_wait_seconds: 30,
      ready_percent: 75,
    });
    const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: bob.token });
    expect(detail.body.buffering).toEqual({ policy: "wait_for_all", max_wait_seconds: 30, ready_percent: 75 });
    await start([hostClient, bobClient]);

    const before = Date.now();
    bobClient.send(report(true));
    const [paused, waiting] = await hostClient.waitForAll(["PLAYBACK_STATE", "BUFFERING_STATE"]);
    expect(paused).toMatchObject({ is_playing: false });
    expect(waiting).toEqual({ type: "BUFFERING_STATE", waiting: [bob.id], catching_up: [], resumes_by: expect.any(Number) });
    expect(waiting!.resumes_by).toBeGreaterThanOrEqual(before + 29_000);
    expect(await playing(bobClient, false)).toMatchObject({ version: paused!.version });

    const readyAt = Date.now();
    bobClient.send(report(false));
    expect(await hostClient.waitFor("BUFFERING_STATE")).toEqual({
      type: "BUFFERING_STATE",
      waiting: [],
      catching_up: [],
      resumes_by: null,
    });
    const resumed = await playing(hostClient);
    // From where it paused, scheduled like a host's PLAY (these clients get it in force, at its moment).
    expect(resumed).toMatchObject({ time: paused!.time, version: paused!.version + 1 });
    expect(resumed.server_time).toBeGreaterThanOrEqual(readyAt + LEAD_MS - 20);
    await playing(bobClient);
    expect(await bufferingEvents(room.room_id)).toEqual([
      {
        event: "buffering.paused",
        actor_id: null,
        policy: "wait_for_all",
        waiting: [bob.id],
        position: paused!.time,
        version: paused!.version,
        resumes_by: waiting!.resumes_by,
      },
      { event: "buffering.resumed", actor_id: null, reason: "ready", catching_up: [], version: paused!.version + 1 },
    ]);
  });

  it("a viewer still buffering at the deadline is left behind: the room plays, they are catching up and cannot pause it again for a while", async () => {
    const { host, room, bob, hostClient, bobClient } = await hostAndBob(connect);
    await setPolicy(host, room.room_id, { policy: "wait_for_all", max_wait_seconds: 1 });
    await start([hostClient, bobClient]);
    bobClient.send(report(true));
    const paused = await playing(hostClient, false);
    // No more reports: the deadline's timer resumes (the state is out before the scheduled start).
    expect(await until(hostClient, "BUFFERING_STATE", (m) => m.waiting.length === 0)).toEqual({
      type: "BUFFERING_STATE",
      waiting: [],
      catching_up: [bob.id],
      resumes_by: null,
    });
    expect(await playing(hostClient)).toMatchObject({ time: paused.time, version: paused.version + 1 });
    expect((await bufferingEvents(room.room_id)).at(-1)).toMatchObject({
      event: "buffering.resumed",
      reason: "timeout",
      catching_up: [bob.id],
    });

    // Cooling down: still buffering, Bob does not pause the room again.
    bobClient.send(report(true, 2));
    await hostClient.expectNone(400, "PLAYBACK_STATE");
    bobClient.send(report(false, 3));
    expect(await hostClient.waitFor("BUFFERING_STATE")).toEqual({
      type: "BUFFERING_STATE",
      waiting: [],
      catching_up: [],
      resumes_by: null,
    });
  });

  it("wait_for_share: pauses only when fewer than the share are ready, and plays once the share is", async () => {
    const { host, room, ann, bob, hostClient, annClient, bobClient, cyClient } = await party(t, {
      transport: connect,
      members: { ann: guest("Ann"), bob: guest("Bob"), cy: guest("Cy") },
      hostSeesJoin: true,
    });
    await setPolicy(host, room.room_id, { policy: "wait_for_share", ready_percent: 60, max_wait_seconds: 30 });
    await start([hostClient, annClient, bobClient, cyClient]);
    // 3 of the 4 online are ready (75 %): the room plays on.
    annClient.send(report(true));
    await hostClient.expectNone(400, "PLAYBACK_STATE");
    // 2 of 4 (50 %): it waits for both.
    bobClient.send(report(true));
    await playing(cyClient, false);
    expect(await hostClient.waitFor("BUFFERING_STATE")).toMatchObject({ waiting: [ann.id, bob.id].sort() });
    // A newcomer during the wait learns of it.
    const dee = await t.api.guest("Dee");
    expect((await t.api.join(dee.token, room.code)).status).toBe(200);
    const deeClient = connect(t.baseUrl, room.code, dee.token);
    expect(await deeClient.waitFor("BUFFERING_STATE")).toMatchObject({ waiting: [ann.id, bob.id].sort(), resumes_by: expect.any(Number) });
    await deeClient.close();
    // Ann is ready: 3 of 4, the room plays and Bob is catching up.
    annClient.send(report(false));
    await playing(cyClient);
    expect(await until(hostClient, "BUFFERING_STATE", (m) => m.waiting.length === 0)).toEqual({
      type: "BUFFERING_STATE",
      waiting: [],
      catching_up: [bob.id],
      resumes_by: null,
    });
    expect((await bufferingEvents(room.room_id)).at(-1)).toMatchObject({
      event: "buffering.resumed",
      reason: "share",
      catching_up: [bob.id],
    });
  });

  it("the host's PLAY during a wait plays at once and ends the wait", async () => {
    const { host, room, bob, hostClient, bobClient } = await hostAndBob(connect);
    await setPolicy(host, room.room_id, { policy: "wait_for_all", max_wait_seconds: 60 });
    await start([hostClient, bobClient]);
    bobClient.send(report(true));
    const paused = await playing(hostClient, false);
    await playing(bobClient, false);
    expect(await bobClient.waitFor("BUFFERING_STATE")).toMatchObject({ waiting: [bob.id] });
    hostClient.send({ type: "PLAY", time: 5 });
    const [cleared, played] = await bobClient.waitForAll(["BUFFERING_STATE", "PLAYBACK_STATE"]);
    expect(cleared).toEqual({ type: "BUFFERING_STATE", waiting: [], catching_up: [], resumes_by: null });
    expect(played).toMatchObject({ is_playing: true, time: 5, version: paused.version + 1 });
    expect((await bufferingEvents(room.room_id)).map((e) => e.event)).toEqual(["buffering.paused", "buffering.cleared"]);
    // Still buffering after the host's PLAY, Bob pauses it again (no cooldown: the host chose to play).
    bobClient.send(report(true, 5));
    await playing(hostClient, false);
  });

  it("the one the room waits for leaves: the room plays again without them", async () => {
    const { host, room, hostClient, bobClient } = await hostAndBob(connect);
    await setPolicy(host, room.room_id, { policy: "wait_for_all", max_wait_seconds: 60 });
    await start([hostClient, bobClient]);
    bobClient.send(report(true));
    await playing(hostClient, false);
    await bobClient.close();
    expect(await until(hostClient, "BUFFERING_STATE", (m) => m.waiting.length === 0)).toMatchObject({ catching_up: [] });
    await playing(hostClient);
    expect((await bufferingEvents(room.room_id)).at(-1)).toMatchObject({ event: "buffering.resumed", reason: "ready" });
  });

  it("never (the default): a viewer who buffers changes nothing", async () => {
    const { room, bob, hostClient, bobClient } = await hostAndBob(connect);
    expect((await t.api.get(`/api/rooms/${room.code}/detail/`, { token: bob.token })).body.buffering).toEqual({
      policy: "never",
      max_wait_seconds: 10,
      ready_percent: 75,
    });
    await start([hostClient, bobClient]);
    bobClient.send(report(true));
    await hostClient.expectNone(400, "PLAYBACK_STATE");
    expect(hostClient.received.filter((m) => m.type === "BUFFERING_STATE")).toEqual([]);
    expect(await bufferingEvents(room.room_id)).toEqual([]);
  });
});

describe("setting the buffering policy", () => {
  it.each(transports)(
    "SET_BUFFERING_POLICY over %s: the host sets it, everyone is told, a viewer and bad values are refused",
    async (_name, connect) => {
      const { host, room, hostClient, bobClient } = await party(t, { transport: connect, members: { bob: guest("Bob") } });
      hostClient.send({ type: "SET_BUFFERING_POLICY", policy: "wait_for_share", ready_percent: 60 });
      expect(await bobClient.waitFor("BUFFERING_POLICY")).toEqual({
        type: "BUFFERING_POLICY",
        policy: "wait_for_share",
        max_wait_seconds: 10,
        ready_percent: 60,
      });
      bobClient.send({ type: "SET_BUFFERING_POLICY", policy: "never" });
      expect(await bobClient.waitFor("ERROR")).toMatchObject({ code: "PERMISSION_DENIED" });
      hostClient.send({ type: "SET_BUFFERING_POLICY", policy: "wait_for_all", max_wait_seconds: 500 });
      expect(await hostClient.waitFor("ERROR")).toMatchObject({
        code: "VALIDATION_FAILED",
        message: "max_wait_seconds: max_wait_seconds must be at most 120",
      });
      const detail = await t.api.get(`/api/rooms/${room.code}/detail/`, { token: host.token });
      expect(detail.body.buffering).toEqual({ policy: "wait_for_share", max_wait_seconds: 10, ready_percent: 60 });
    },
  );

  it("refuses bad settings with VALIDATION_FAILED and anyone but the host with PERMISSION_DENIED", async () => {
    const { host, room, bob } = await party(t, { members: { bob: guest("Bob") } });
    for (const bad of [
      { policy: "sometimes" },
      { policy: "wait_for_all", max_wait_seconds: 0 },
      { policy: "wait_for_all", max_wait_seconds: 121 },
      { policy: "wait_for_all", max_wait_seconds: 1.5 },
      { policy: "wait_for_share", ready_percent: 0 },
      { policy: "wait_for_share", ready_percent: 101 },
      {},
    ]) {
      const res = await t.api.post("/api/rooms/buffering/", { room_id: room.room_id, ...bad }, { token: host.token });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.code, JSON.stringify(bad)).toBe("VALIDATION_FAILED");
    }
    const denied = await t.api.post("/api/rooms/buffering/", { room_id: room.room_id, policy: "wait_for_all" }, { token: bob.token });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("PERMISSION_DENIED");
    // Numbers left out keep their values.
    await setPolicy(host, room.room_id, { policy: "wait_for_share", ready_percent: 40, max_wait_seconds: 5 });
    expect(await setPolicy(host, room.room_id, { policy: "wait_for_all" })).toMatchObject({ max_wait_seconds: 5, ready_percent: 40 });
    const timeline = await t.app.database.db
      .selectFrom("room_events")
      .select(["event", "actor_id"])
      .where("room_id", "=", room.room_id)
      .where("event", "=", "room.buffering_policy_changed")
      .execute();
    expect(timeline).toEqual([
      { event: "room.buffering_policy_changed", actor_id: host.id },
      { event: "room.buffering_policy_changed", actor_id: host.id },
    ]);
  });
});

describe.runIf(backend === "cluster")("across instances (same PostgreSQL and Redis)", () => {
  it("a viewer on another instance pauses the room and resumes it; the wait is shared", async () => {
    const second = await secondInstance(t);
    try {
      const wsConnect = transports[0]![1];
      const { host, room, bob, hostClient, bobClient, annClient } = await party(t, {
        transport: wsConnect,
        members: { bob: guest("Bob", { baseUrl: second.baseUrl }), ann: guest("Ann", { baseUrl: second.baseUrl }) },
        hostSeesJoin: true,
      });
      await setPolicy(host, room.room_id, { policy: "wait_for_all", max_wait_seconds: 30 });
      await bobClient.waitFor("BUFFERING_POLICY");
      await start([hostClient, bobClient, annClient]);
      bobClient.send(report(true));
      await playing(hostClient, false);
      expect(await hostClient.waitFor("BUFFERING_STATE")).toMatchObject({ waiting: [bob.id] });
      bobClient.send(report(false));
      await playing(hostClient);
      await playing(annClient);
      expect((await bufferingEvents(room.room_id)).map((e) => e.event)).toEqual(["buffering.paused", "buffering.resumed"]);
    } finally {
      await second.close();
    }
  });
});
