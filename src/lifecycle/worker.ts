/**
 * The lifecycle worker: consumes the grace jobs (expire one room) and the party jobs (start a
 * scheduled party), and sweeps periodically for anything a job missed (Redis flushed, worker
 * down). Used by `npm run worker`.
 */
import { type Job, Worker } from "bullmq";
import { PARTY_JOB, type PartyJob } from "../party/bullmq.js";
import type { PartyService } from "../party/service.js";
import { bullConnection, type ExpireJob, LIFECYCLE_QUEUE } from "./bullmq.js";
import type { RoomLifecycle } from "./service.js";

/** What the worker logs through (a pino logger in `npm run worker`; nothing by default). */
export interface WorkerLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const SILENT: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface LifecycleWorker {
  /** Runs one sweep now (also runs every `sweepMs`). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function startLifecycleWorker(options: {
  redisUrl: string;
  prefix: string;
  lifecycle: RoomLifecycle;
  /** Scheduled parties: their jobs start them, the sweep starts any whose job was lost. */
  parties?: Pick<PartyService, "start" | "sweep"> | undefined;
  sweepMs?: number;
  log?: WorkerLogger | undefined;
  /** Told of every job this worker finished or gave up on (the worker's metrics). */
  onFinished?: ((name: string, result: "completed" | "failed") => void) | undefined;
}): LifecycleWorker {
  const log = options.log ?? SILENT;
  const redis = bullConnection(options.redisUrl);
  const { parties } = options;
  const worker = new Worker<ExpireJob | PartyJob>(
    LIFECYCLE_QUEUE,
    async (job) => {
      if (job.name === PARTY_JOB) {
        const { roomId, startsAt } = (job as Job<PartyJob>).data;
        if (!parties) throw new Error("this worker does not run party jobs");
        const outcome = (await parties.start(roomId, new Date(startsAt))) ?? null;
        log.info({ roomId, startsAt, outcome }, "party job done");
        return { outcome };
      }
      const expired = await options.lifecycle.expire(job.data.roomId);
      log.info({ roomId: job.data.roomId, expired }, "grace job done");
      return { expired };
    },
    { connection: redis.connection, prefix: `${options.prefix}bull`, concurrency: 8 },
  );
  worker.on("error", (err) => log.error({ err }, "worker error"));
  worker.on("completed", (job) => options.onFinished?.(job.name, "completed"));
  worker.on("failed", (job) => options.onFinished?.(job?.name ?? "unknown", "failed"));

  let running: Promise<number> = Promise.resolve(0);
  const sweepParties = async () => {
    const started = (await parties?.sweep().catch((err: Error) => void log.error({ err }, "party sweep failed"))) ?? 0;
    if (started > 0) log.info({ started }, "sweep started parties");
  };
  const sweep = () =>
    (running = Promise.all([options.lifecycle.sweep(), sweepParties()])
      .then(([n]) => n)
      .then(
        (n) => {
          if (n > 0) log.info({ expired: n }, "sweep expired rooms");
          return n;
        },
        (err: Error) => {
          log.error({ err }, "sweep failed");
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
        log.warn({}, "worker did not close in time: forcing");
        void worker.close(true).catch(() => {});
      }
      await redis.close();
    },
  };
}
