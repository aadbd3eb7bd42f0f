/**
 * `npm run worker`: the lifecycle worker of cluster mode. It expires rooms when their grace
 * job fires, sweeps for anything missed, and reaps presence of web instances that died. Several
 * workers may run: each transition is a conditional UPDATE, so a room expires exactly once. It
 * also starts scheduled parties (their jobs, and a sweep of any whose job was lost), once each.
 */
import { Registry } from "prom-client";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";
import { startLifecycleWorker } from "../src/lifecycle/worker.js";
import { createLogger } from "../src/logger.js";
import { registerJobMetrics } from "../src/metrics/jobs.js";
import { collectProcessMetrics } from "../src/metrics/process.js";
import { serveMetrics } from "../src/metrics/server.js";
import { queryMetrics, redisErrorMetrics } from "../src/metrics/stores.js";
import { createRealtimeBackends } from "../src/realtime/backends.js";
import { clientIdOf, connectRedis } from "../src/redis.js";

const config = loadConfig();
// The web processes' format and level (LOG_FORMAT, LOG_LEVEL); `name` tells the worker's lines apart.
const log = createLogger(config, { name: "lifecycle-worker" });
if (!config.clusterMode || !config.REDIS_URL) {
  log.fatal({}, "The worker serves cluster mode: set DATABASE_URL=postgres://... and REDIS_URL=redis://...");
  process.exit(78);
}
// The worker's own metrics (METRICS_PORT): its job queue, its queries, its Redis errors, its process.
const metrics = new Registry();
collectProcessMetrics(metrics);
const redisErrors = redisErrorMetrics(metrics);
const database = await openDatabase(config.database, queryMetrics(metrics));
database.setQueryTimeout(config.DATABASE_QUERY_TIMEOUT_MS);
const redis = await connectRedis(config.REDIS_URL, (err) => {
  redisErrors.connectionError();
  log.warn({ err: err.message }, "redis error (reconnecting)");
});
redisErrors.watchCommands((id) => id === clientIdOf(redis));
const jobs = registerJobMetrics(metrics, config.REDIS_URL, config.REDIS_PREFIX);
const realtime = await createRealtimeBackends(config, database.db, redis, (err) => log.warn({ err: err.message }, "redis error"));
// Heartbeat like a web instance so it can reap dead instances even when no web process is left.
await realtime.state.start((roomId, userId) => realtime.lifecycle.staleLeave(roomId, userId));
const worker = startLifecycleWorker({
  redisUrl: config.REDIS_URL,
  prefix: config.REDIS_PREFIX,
  lifecycle: realtime.lifecycle,
  parties: realtime.parties,
  log,
  onFinished: jobs.finished,
});
await worker.sweep();
const metricsServer = config.METRICS_PORT === undefined ? undefined : await serveMetrics(metrics, config.METRICS_PORT, config.HOST);
log.info({ pid: process.pid, metrics_port: metricsServer?.port }, "lifecycle worker started");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "worker stopping");
  // Bounded: a stuck connection must not keep a stopping worker alive.
  setTimeout(() => {
    log.error({}, "shutdown timed out");
    process.exit(1);
  }, 10_000).unref();
  const step = async (name: string, work: () => Promise<unknown>) => {
    try {
      log.debug({ step: name }, "stopping");
      await work();
    } catch (err) {
      log.error({ step: name, err }, "shutdown step failed");
    }
  };
  await step("worker", () => worker.close());
  await step("metrics", async () => {
    await metricsServer?.close();
    await jobs.close();
  });
  await step("presence", () => realtime.state.close({ forget: true }));
  await step("scheduler", async () => realtime.scheduler.close());
  await step("backends", () => realtime.close());
  await step("redis", () => redis.quit());
  await step("database", () => database.close());
  log.info({}, "worker stopped");
  process.exit(0);
}
process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
