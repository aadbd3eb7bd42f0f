/**
 * One address for the cluster: HAProxy on the repo's deploy/haproxy/haproxy.cfg in front of two
 * real web processes (PostgreSQL, a private Redis). Socket.IO over long-polling only (sticky by
 * the balancer's cookie), over websocket only, and raw WebSocket clients share a room through
 * it; then the process they are on is drained (SIGTERM) and they come back through the
 * balancer to the other one. Needs PostgreSQL (cluster-backends project), redis-server and
 * Debian's haproxy (.ci/run installs it).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Api } from "../helpers/api.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { hasRedisServer, type Proc, startRedis, startWeb, type WebInstance } from "../helpers/cluster.js";
import { hasHaproxy, startHaproxy } from "../helpers/haproxy.js";

const pgUrl = process.env.TEST_DATABASE_URL;
const enabled = Boolean(pgUrl) && hasRedisServer;
const title = "balancer: HAProxy (deploy/haproxy/haproxy.cfg) in front of two web processes";

describe.runIf(enabled && hasHaproxy)(hasHaproxy ? title : `${title} (skipped: haproxy is not installed; apt-get install haproxy)`, () => {
  const schema = `h_${randomBytes(4).toString("hex")}`;
  let redis: Proc;
  let a: WebInstance;
  let b: WebInstance;
  let lb: Proc & { baseUrl: string };
  const api = () => new Api(lb.baseUrl);

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      NODE_ENV: "test",
      DATABASE_URL: pgUrl!,
      DATABASE_SCHEMA: schema,
      REDIS_URL: `redis://127.0.0.1:${(redis as Proc & { port: number }).port}/0`,
      REDIS_PREFIX: "h:",
      JWT_SECRET: "haproxy-secret-haproxy-secret-haproxy-0001",
      GRACE_PERIOD_SECONDS: "60",
      LOG_LEVEL: "info", // the "listening" line startWeb waits for
      TRUST_PROXY: "true",
      EVENT_LOOP_DELAY_MAX_MS: "0",
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-haproxy-")),
    };
    a = await startWeb(env);
    b = await startWeb(env);
    lb = await startHaproxy([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
  }, 90_000);

  afterAll(async () => {
    for (const p of [lb, a, b, redis]) p?.kill("SIGKILL");
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  /** A public room and three guests, every account made through the balancer. */
  async function room() {
    const host = await api().register();
    const created = await api().createRoom(host.token, { is_private: false });
    const [one, two, three] = [await api().guest("One"), await api().guest("Two"), await api().guest("Three")];
    for (const g of [one, two, three]) await api().join(g.token, created.code);
    return { host, code: created.code as string, one, two, three };
  }

  /** Everyone sees the host's PLAY and a chat message from the last client. */
  async function partyGoesOn(clients: TestClient[], time: number, message: string) {
    clients[0]!.send({ type: "PLAY", time });
    for (const c of clients) expect(await c.waitFor("PLAYBACK_STATE"), c.kind).toMatchObject({ time });
    clients.at(-1)!.send({ type: "CHAT_MESSAGE", message });
    for (const c of clients) expect(await c.waitFor("CHAT_MESSAGE"), c.kind).toMatchObject({ message });
  }

  it("Socket.IO over polling only and over websocket only, and raw WebSocket clients, share a room", async () => {
    const { host, code, one, two, three } = await room();
    // Two polling sessions: without stickiness one of them would reach the other process with
    // its sid ("Session ID unknown") within a few requests.
    const clients: TestClient[] = [
      sioClient(lb.baseUrl, code, host.token, { transports: ["polling"] }),
      sioClient(lb.baseUrl, code, one.token, { transports: ["polling"] }),
      sioClient(lb.baseUrl, code, two.token, { transports: ["websocket"] }),
      rawClient(lb.baseUrl, code, three.token),
    ];
    await Promise.all(clients.map((c) => c.opened));
    for (const c of clients) await c.drainJoin();
    await partyGoesOn(clients, 5, "through the balancer");
    const listed = await api().get("/api/rooms/public/");
    expect(listed.body.find((r: any) => r.code === code)).toMatchObject({ viewers: 4 });
    // The polling clients stayed on polling (no upgrade), and the balancer set its cookie.
    const polling = clients[0] as ReturnType<typeof sioClient>;
    expect(polling.socket.io.engine.transport.name).toBe("polling");
  });

  it("a drained process (SIGTERM): its clients get 1012 and come back through the balancer to the other", async () => {
    const { host, code, one, two, three } = await room();
    // Pinned to web1 (the first process) by the balancer's own sticky cookie.
    const headers = { cookie: "SRV=web1" };
    const connect = () => [
      sioClient(lb.baseUrl, code, host.token, { transports: ["polling"], headers }),
      sioClient(lb.baseUrl, code, one.token, { transports: ["websocket"], headers }),
      rawClient(lb.baseUrl, code, two.token, { headers }),
    ];
    const before = connect();
    for (const c of before) await c.drainJoin();
    const elsewhere = sioClient(b.baseUrl, code, three.token); // straight on web2: it stays
    await elsewhere.drainJoin();

    a.kill("SIGTERM");
    for (const c of before) expect((await c.closed).code, c.kind).toBe(1012);
    expect((await a.exited).code).toBe(0);
    await elsewhere.waitFor("HOST_DISCONNECTED");
    // Reconnect with the same cookie: the balancer sees web1 down and sends them to web2.
    const after = connect();
    for (const c of after) await c.drainJoin();
    await elsewhere.waitFor("HOST_RECONNECTED");
    await partyGoesOn([...after, elsewhere], 11, "still here");
  }, 45_000);
});
