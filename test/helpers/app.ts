/**
 * Starts the real app on a real port for a test file, against the backend the vitest project
 * selected (embedded PGlite, or PostgreSQL + Redis with a private schema and key prefix).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createClient } from "redis";
import { buildApp, type StreamItApp } from "../../src/app.js";
import { type Config, loadConfig } from "../../src/config.js";
import { startLifecycleWorker } from "../../src/lifecycle/worker.js";
import { Api } from "./api.js";

export const backend = process.env.STREAMIT_TEST_BACKEND === "cluster" ? "cluster" : "embedded";

export interface TestApp {
  app: StreamItApp;
  config: Config;
  baseUrl: string;
  api: Api;
  stop(): Promise<void>;
}

/** The environment a test app gets; `overrides` wins. */
export function testEnv(overrides: Record<string, string | undefined> = {}) {
  const id = randomBytes(4).toString("hex");
  const dataDir = mkdtempSync(path.join(tmpdir(), "streamit-test-"));
  const env: Record<string, string | undefined> = {
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    DATA_DIR: dataDir,
    JWT_SECRET: "test-secret-test-secret-test-secret-0123",
    TRUST_PROXY: "true",
    DATABASE_URL: "memory://",
    // Every test connects from loopback; the socket limits have their own suite.
    SOCKETS_PER_CLIENT: "100000",
    SOCKET_CONNECTS_PER_MINUTE: "100000",
    // Parallel test files starve each other's event loops on a small machine: shedding has its own suite.
    EVENT_LOOP_DELAY_MAX_MS: "0",
  };
  if (backend === "cluster") {
    env.DATABASE_URL = process.env.TEST_DATABASE_URL;
    env.DATABASE_SCHEMA = `t_${id}`;
    env.REDIS_URL = process.env.TEST_REDIS_URL;
    env.REDIS_PREFIX = `test:${id}:`;
  }
  return { env: { ...env, ...overrides }, dataDir };
}

export async function startApp(overrides: Record<string, string | undefined> = {}): Promise<TestApp> {
  const { env, dataDir } = testEnv(overrides);
  const config = loadConfig(env);
  const app = await buildApp(config);
  // Cluster mode expires rooms in the lifecycle worker: run one in-process, as `npm run worker` would.
  const worker =
    config.clusterMode && config.REDIS_URL
      ? startLifecycleWorker({
          redisUrl: config.REDIS_URL,
          prefix: config.REDIS_PREFIX,
          lifecycle: app.realtime.lifecycle,
          parties: app.realtime.parties,
        })
      : undefined;
  const baseUrl = await listen(app);
  return {
    app,
    config,
    baseUrl,
    api: new Api(baseUrl),
    async stop() {
      await worker?.close();
      await app.close();
      await dropIsolation(config);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes the test's PostgreSQL schema and Redis keys. */
async function dropIsolation(config: Config): Promise<void> {
  if (config.database.kind === "postgres" && config.database.schema) {
    const client = new pg.Client({ connectionString: config.database.url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await client.end();
  }
  if (config.REDIS_URL && config.REDIS_PREFIX.startsWith("test:")) {
    const redis = createClient({ url: config.REDIS_URL, RESP: 2 });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${config.REDIS_PREFIX}*`, COUNT: 500 })) {
      if (keys.length) await redis.del(keys);
    }
    await redis.quit();
  }
}

/** Listens on a free loopback port; the base URL. */
async function listen(app: StreamItApp): Promise<string> {
  await app.http.listen({ port: 0, host: "127.0.0.1" });
  const address = app.http.server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

/** Another web instance on the same database and Redis as `t` (cluster tests); close it after. */
export async function secondInstance(t: TestApp): Promise<{ app: StreamItApp; baseUrl: string; close(): Promise<void> }> {
  const app = await buildApp(t.config);
  return { app, baseUrl: await listen(app), close: () => app.close() };
}
