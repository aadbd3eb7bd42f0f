/**
 * `npm run worker`: the lifecycle worker of cluster mode. It expires rooms when their grace
 * job fires, sweeps for anything missed, and reaps presence of web instances that died. Several
 * workers may run: each transition is a conditional UPDATE, so a room expires exactly once.
 */
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";
import { startLifecycleWorker } from "../src/lifecycle/worker.js";
import { createRealtimeBackends } from "../src/realtime/backends.js";
import { connectRedis } from "../src/redis.js";

const config = loadConfig();
if (!config.clusterMode || !config.REDIS_URL) {
  console.error("The worker serves cluster mode: set DATABASE_URL=postgres://... and REDIS_URL=redis://...");
  process.exit(78);
}
const log = (details: object, msg: string) => console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...details }));
const database = await openDatabase(config.database);
database.setQueryTimeout(config.DATABASE_QUERY_TIMEOUT_MS);
const redis = await connectRedis(config.REDIS_URL, (err) => log({ err: err.message }, "redis error (reconnecting)"));
const realtime = await createRealtimeBackends(config, database.db, redis, (err) => log({ err: err.message }, "redis error"));
// Heartbeat like a web instance so it can reap dead instances even when no web process is left.
await realtime.state.start((roomId, userId) => realtime.lifecycle.staleLeave(roomId, userId));
const worker = startLifecycleWorker({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX, lifecycle: realtime.lifecycle, log });
await worker.sweep();
log({ pid: process.pid }, "lifecycle worker started");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ signal }, "worker stopping");
  // Bounded: a stuck connection must not keep a stopping worker alive.
  setTimeout(() => {
    log({}, "shutdown timed out");
    process.exit(1);
  }, 10_000).unref();
  const step = async (name: string, work: () => Promise<unknown>) => {
    try {
      log({ step: name }, "stopping");
      await work();
    } catch (err) {
      log({ step: name, err: (err as Error).message }, "shutdown step failed");
    }
  };
  await step("worker", () => worker.close());
  await step("presence", () => realtime.state.close({ forget: true }));
  await step("scheduler", async () => realtime.scheduler.close());
  await step("backends", () => realtime.close());
  await step("redis", () => redis.quit());
  await step("database", () => database.close());
  log({}, "worker stopped");
  process.exit(0);
}
process.on("unhandledRejection", (reason) => log({ err: String(reason) }, "unhandled rejection"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
