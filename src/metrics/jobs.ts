/**
 * The lifecycle queue's job counts (BullMQ), read at scrape time by the worker: grace jobs
 * waiting for their time, jobs due but not picked up, failures kept for inspection.
 */
import { Queue } from "bullmq";
import { Counter, Gauge, type Registry } from "prom-client";
import { bullConnection, LIFECYCLE_QUEUE } from "../lifecycle/bullmq.js";

const STATES = ["waiting", "delayed", "active", "failed", "prioritized"] as const;

export interface JobMetrics {
  /** Counts a job the worker finished (`completed`) or gave up on (`failed`). */
  finished(name: string, result: "completed" | "failed"): void;
  close(): Promise<void>;
}

export function registerJobMetrics(registry: Registry, redisUrl: string, prefix: string): JobMetrics {
  const { connection, close } = bullConnection(redisUrl);
  const queue = new Queue(LIFECYCLE_QUEUE, { connection, prefix: `${prefix}bull` });
  queue.on("error", () => {});
  new Gauge({
    name: "streamit_jobs",
    help: "Jobs of a BullMQ queue by state (waiting, delayed, active, failed, prioritized)",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      // Redis away: the scrape still answers, with the last counts.
      const counts = await queue.getJobCounts(...STATES).catch(() => undefined);
      if (!counts) return;
      for (const state of STATES) this.set({ queue: LIFECYCLE_QUEUE, state }, counts[state] ?? 0);
    },
  });
  const finished = new Counter({
    name: "streamit_jobs_finished_total",
    help: "Jobs this worker finished, by job name (expire, party-start) and result (completed, failed)",
    labelNames: ["name", "result"],
    registers: [registry],
  });
  return {
    finished: (name, result) => finished.inc({ name, result }),
    async close() {
      await queue.close().catch(() => {});
      await close();
    },
  };
}
