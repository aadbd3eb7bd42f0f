/**
 * The lifecycle worker: consumes the grace jobs (expire one room) and sweeps periodically for
 * anything a job missed (Redis flushed, worker down). Used by `npm run worker`.
 */
import { Worker } from "bullmq";
import { bullConnection, type ExpireJob, LIFECYCLE_QUEUE } from "./bullmq.js";
import type { RoomLifecycle } from "./service.js";

export interface LifecycleWorker {
  /** Runs one sweep now (also runs every `sweepMs`). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function startLifecycleWorker(options: {
  redisUrl: string;
  prefix: string;
  lifecycle: RoomLifecycle;
  sweepMs?: number;
  log?: (details: object, message: string) => void;
}): LifecycleWorker {
  const log = options.log ?? (() => {});
  const redis = bullConnection(options.redisUrl);
  const worker = new Worker<ExpireJob>(
    LIFECYCLE_QUEUE,
    async (job) => {
      const expired = await options.lifecycle.expire(job.data.roomId);
      log({ roomId: job.data.roomId, expired }, "grace job done");
      return { expired };
    },
    { connection: redis.connection, prefix: `${options.prefix}bull`, concurrency: 8 },
  );
  worker.on("error", (err) => log({ err: err.message }, "worker error"));

  let running: Promise<number> = Promise.resolve(0);
  const sweep = () =>
    (running = options.lifecycle.sweep().then(
      (n) => {
        if (n > 0) log({ expired: n }, "sweep expired rooms");
        return n;
      },
      (err: Error) => {
        log({ err: err.message }, "sweep failed");
        return 0;
      },
    ));
  const timer = setInterval(() => void sweep(), options.sweepMs ?? 10_000);
  timer.unref();

  return {
    sweep,
    async close() {
      clearInterval(timer);
      await running;
      // A graceful close waits for running jobs; after a Redis outage BullMQ can wait forever.
      const closed = await Promise.race([
        worker.close().then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 3000).unref()),
      ]);
      if (!closed) {
        log({}, "worker did not close in time: forcing");
        void worker.close(true).catch(() => {});
      }
      await redis.close();
    },
  };
}
