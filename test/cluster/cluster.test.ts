/**
 * The cluster for real: two web processes and lifecycle workers against PostgreSQL and a
 * private Redis server. Runs in the cluster-backends project (PostgreSQL reachable) when
 * `redis-server` is installed.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Api } from "../helpers/api.js";
import { rawClient, sioClient } from "../helpers/clients.js";
import { hasRedisServer, type Proc, startRedis, startWeb, startWorker, type WebInstance } from "../helpers/cluster.js";
import { guest, party } from "../helpers/party.js";

const pgUrl = process.env.TEST_DATABASE_URL;
const enabled = Boolean(pgUrl) && hasRedisServer;

describe.runIf(enabled)("cluster: two web processes, workers, PostgreSQL and Redis", () => {
  const schema = `c_${randomBytes(4).toString("hex")}`;
  let redisPort: number;
  let redis: Proc;
  let env: Record<string, string>;
  let a: WebInstance;
  let b: WebInstance;
  const workers: Proc[] = [];
  /** Web processes a test starts for itself (killed by it; here too should it fail first). */
  const extraWebs: Proc[] = [];
  const apiA = () => new Api(a.baseUrl);
  const apiB = () => new Api(b.baseUrl);

  beforeAll(async () => {
    const started = await startRedis();
    [redis, redisPort] = [started, started.port];
    env = {
      NODE_ENV: "test",
      DATABASE_URL: pgUrl!,
      DATABASE_SCHEMA: schema,
      REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
      REDIS_PREFIX: "c:",
      JWT_SECRET: "cluster-secret-cluster-secret-cluster-0001",
      GRACE_PERIOD_SECONDS: "3",
      PRESENCE_TTL_SECONDS: "2",
      LOG_LEVEL: "info",
      TRUST_PROXY: "true",
      // Parallel test files starve each other's event loops here: load shedding has its own suite.
      EVENT_LOOP_DELAY_MAX_MS: "0",
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-cluster-")),
    };
    a = await startWeb(env);
    [b] = await Promise.all([startWeb(env), startWorker(env).then((w) => void workers.push(w))]).then(([web]) => [web]);
  }, 90_000);

  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    // When something failed, show what the processes said.
    if (failed) {
      const procs: [string, Proc | undefined][] = [
        ["web A", a],
        ["web B", b],
        ...workers.map((w, i) => [`worker ${i}`, w] as [string, Proc]),
      ];
      for (const [name, p] of procs) console.log(`---- ${name}\n${p?.output.join("").slice(-3000)}`);
    }
    for (const p of [a, b, ...workers, ...extraWebs]) p?.kill("SIGKILL");
    redis?.kill("SIGKILL");
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  /** A public room made on A, and the guest "Remote" (`viewer`) who joined it on B; nobody connected. */
  const acrossInstances = () => party({ api: apiA(), baseUrl: a.baseUrl }, { members: { viewer: guest("Remote", { api: apiB() }) } });

  it("a raw client on one instance and a Socket.IO client on the other hold one party", async () => {
    const { host, room, viewer } = await acrossInstances();
    const hostClient = rawClient(a.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const viewerClient = sioClient(b.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    expect((await hostClient.next("ROOM_PARTICIPANTS")).online).toBe(2);
    expect(await hostClient.next("USER_JOINED")).toMatchObject({ user_id: viewer.id });

    expect(await viewerClient.emitAck("CHAT_MESSAGE", { message: "hello from B" })).toMatchObject({ ok: true });
    hostClient.send({ type: "CHAT_MESSAGE", message: "hello from A" });
    hostClient.send({ type: "PLAY", time: 7 });
    // Chat travels through the adapter and playback through the room-event bus: each kind keeps
    // its order everywhere, but a chat and a playback state may swap on the other instance.
    const collect = async (client: typeof hostClient | typeof viewerClient) => {
      const [playback] = await client.waitForAll(["PLAYBACK_STATE"]);
      const chats = [await client.waitFor("CHAT_MESSAGE"), await client.waitFor("CHAT_MESSAGE")];
      return [...chats, playback!];
    };
    const onA = await collect(hostClient);
    const onB = await collect(viewerClient);
    expect(onB).toEqual(onA);
    expect(onA.map((m) => m.message ?? m.version)).toEqual(["hello from B", "hello from A", 1]);

    // Viewer counts agree whichever instance answers.
    const [fromA, fromB] = await Promise.all([apiA().get("/api/rooms/public/"), apiB().get("/api/rooms/public/")]);
    expect(fromA.body.find((r: any) => r.code === room.code)).toMatchObject({ viewers: 2 });
    expect(fromB.body).toEqual(fromA.body);
  });

  it("delta presence across instances: joins and leaves on B reach a delta client on A as entries", async () => {
    const { host, room, viewer } = await acrossInstances();
    const hostClient = rawClient(a.baseUrl, room.code, host.token, { query: `?token=${host.token}&presence=delta` });
    const [, , roster] = await hostClient.drainJoin();
    expect(roster).toMatchObject({ total: 2, online: 1 });
    const viewerClient = sioClient(b.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    expect(await hostClient.next("USER_JOINED")).toMatchObject({ user_id: viewer.id, member: { id: viewer.id, online: true }, online: 2 });
    await viewerClient.close();
    expect(await hostClient.next("USER_LEFT")).toMatchObject({ user_id: viewer.id, member: { id: viewer.id, online: false }, online: 1 });
    // The legacy client's paced rosters went out on B; none reaches the delta client on A.
    await hostClient.expectNone(300, "ROOM_PARTICIPANTS");
  });

  it("kicks and bans reach the target's sockets on every instance", async () => {
    const { host, room, viewer } = await acrossInstances();
    const hostClient = sioClient(a.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const tabOnA = rawClient(a.baseUrl, room.code, viewer.token);
    await tabOnA.drainJoin();
    const tabOnB = sioClient(b.baseUrl, room.code, viewer.token);
    await tabOnB.drainJoin();
    expect(await hostClient.emitAck("BAN_USER", { user_id: viewer.id })).toEqual({ ok: true });
    expect((await tabOnA.closed).code).toBe(4011);
    expect((await tabOnB.closed).code).toBe(4011);
    expect((await rawClient(b.baseUrl, room.code, viewer.token).closed).code).toBe(4010);
    await hostClient.waitFor("USER_LEFT");
  });

  it("REST changes on one instance reach sockets on the other (source, chat toggle, delete)", async () => {
    const { host, room, viewer } = await acrossInstances();
    const viewerClient = rawClient(b.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    await apiA().post("/api/rooms/chat/", { room_id: room.room_id, enabled: false }, { token: host.token });
    expect(await viewerClient.waitFor("CHAT_STATUS")).toEqual({ type: "CHAT_STATUS", enabled: false, slow_mode_seconds: 0 });
    viewerClient.send({ type: "CHAT_MESSAGE", message: "hi" });
    expect((await viewerClient.waitFor("ERROR")).code).toBe("CHAT_DISABLED");
    await apiA().post("/api/rooms/delete/", { room_id: room.room_id }, { token: host.token });
    await viewerClient.waitFor("ROOM_DELETED");
    expect((await viewerClient.closed).code).toBe(4005);
  });

  it("grace ends in exactly one expiry with two workers; every instance's sockets are told", async () => {
    workers.push(await startWorker(env));
    const { host, room, viewer } = await acrossInstances();
    const hostClient = rawClient(a.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const onA = rawClient(a.baseUrl, room.code, viewer.token);
    await onA.drainJoin();
    const onB = sioClient(b.baseUrl, room.code, viewer.token);
    await onB.drainJoin();
    await hostClient.close();
    await onB.waitFor("HOST_DISCONNECTED");
    await onA.waitFor("ROOM_EXPIRED", 10_000);
    await onB.waitFor("ROOM_EXPIRED", 10_000);
    expect((await onA.closed).code).toBe(4004);
    expect((await onB.waitFor("CLOSE")).code).toBe(4004);
    const db = new pg.Client({ connectionString: pgUrl });
    await db.connect();
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM "${schema}".room_events WHERE room_id = $1 AND event = 'room.expired'`,
      [room.room_id],
    );
    await db.end();
    expect(rows[0].n).toBe(1);
  }, 30_000);

  it("an instance killed with SIGKILL: its users age out, its host's room enters grace, acked chat survives", async () => {
    const c = await startWeb(env);
    extraWebs.push(c);
    const { host, room, viewer } = await acrossInstances();
    const survivor = await apiB().guest("Survivor");
    await apiB().join(survivor.token, room.code);
    const hostClient = sioClient(c.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const doomed = sioClient(c.baseUrl, room.code, viewer.token);
    await doomed.drainJoin();
    const watcher = rawClient(b.baseUrl, room.code, survivor.token);
    await watcher.drainJoin();
    const acked = await doomed.emitAck("CHAT_MESSAGE", { message: "last words" });
    expect(acked.ok).toBe(true);
    expect((await apiB().get("/api/rooms/public/")).body.find((r: any) => r.code === room.code)).toMatchObject({ viewers: 3 });

    c.kill("SIGKILL");
    await c.exited;
    // Presence ages out within ~PRESENCE_TTL (2 s) plus a heartbeat.
    const [away, left] = (await watcher.waitForAll(["USER_LEFT", "HOST_DISCONNECTED"], 10_000)).sort((x, y) =>
      x.type.localeCompare(y.type),
    );
    expect(away).toMatchObject({ type: "HOST_DISCONNECTED", grace_seconds: 3 });
    expect(left).toMatchObject({ type: "USER_LEFT", user_id: viewer.id });
    const detail = await apiB().get(`/api/rooms/${room.code}/detail/`, { token: survivor.token });
    expect(detail.body.state).toBe("GRACE");
    const back = sioClient(b.baseUrl, room.code, viewer.token);
    const history = (await back.drainJoin())[0]!;
    expect(history.messages.map((m: any) => m.message)).toContain("last words");
    // The host returns on the surviving instance before grace ends.
    const hostBack = rawClient(b.baseUrl, room.code, host.token);
    await hostBack.drainJoin();
    await watcher.waitFor("HOST_RECONNECTED");
  }, 40_000);

  it("recovers from a Redis restart without restarting the service", async () => {
    redis.kill("SIGKILL");
    await redis.exited;
    const degraded = await apiA().get("/health/");
    expect(degraded.status).toBe(503);
    redis = await startRedis(redisPort);
    // Clients reconnect by themselves; wait until both instances report healthy again.
    for (const instance of [a, b]) {
      await vi.waitFor(
        async () => expect((await new Api(instance.baseUrl).get("/health/")).status, `${instance.baseUrl} recovered`).toBe(200),
        {
          timeout: 20_000,
          interval: 200,
        },
      );
    }
    const { host, room, viewer } = await acrossInstances();
    const hostClient = rawClient(a.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const viewerClient = sioClient(b.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    await hostClient.waitFor("USER_JOINED");
    await viewerClient.emitAck("CHAT_MESSAGE", { message: "after the restart" });
    expect((await hostClient.waitFor("CHAT_MESSAGE")).message).toBe("after the restart");
    hostClient.send({ type: "PAUSE", time: 3 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ time: 3, version: 1 });
  }, 60_000);

  it("SIGTERM drains an instance: clients are told (1012) and carry on elsewhere", async () => {
    const { host, room, viewer } = await acrossInstances();
    const hostClient = rawClient(a.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const viewerClient = sioClient(b.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    a.kill("SIGTERM");
    expect(await hostClient.closed).toEqual({ code: 1012, reason: "Server restarting" });
    expect((await a.exited).code).toBe(0);
    await viewerClient.waitFor("HOST_DISCONNECTED");
    const moved = rawClient(b.baseUrl, room.code, host.token);
    await moved.drainJoin();
    await viewerClient.waitFor("HOST_RECONNECTED");
    moved.send({ type: "PLAY", time: 9 });
    expect(await viewerClient.waitFor("PLAYBACK_STATE")).toMatchObject({ time: 9 });
  }, 30_000);

  it("workers stop gracefully on SIGTERM", async () => {
    for (const worker of workers) worker.kill("SIGTERM");
    const exits = await Promise.all(workers.map((w) => w.exited));
    expect(exits.map((e) => e.code)).toEqual(workers.map(() => 0));
  });
});
