/** Grace deadlines as BullMQ delayed jobs (cluster mode): one job per room, found by its id. */
import { createNodeRedisClient, Queue } from "bullmq";
import { createClient } from "redis";
import type { GraceScheduler } from "./scheduler.js";

export const LIFECYCLE_QUEUE = "room-lifecycle";
export interface ExpireJob {
  roomId: string;
}

export const jobIdFor = (roomId: string) => `expire-${roomId}`;

/**
 * A BullMQ connection over node-redis (RESP2), as the rest of the service uses. BullMQ does not
 * close a connection it was given, so `close` is ours to call.
 */
export function bullConnection(url: string) {
  const raw = createClient({ url, RESP: 2 });
  raw.on("error", () => {});
  const connection = createNodeRedisClient(raw);
  // The wrapper re-emits the client's errors: an unheard "error" event would crash the process.
  (connection as unknown as NodeJS.EventEmitter).on("error", () => {});
  return {
    connection,
    close: async () => {
      if (!raw.isOpen) return;
      if (raw.isReady) await raw.quit().catch(() => raw.destroy());
      else raw.destroy();
    },
  };
}

export class BullmqScheduler implements GraceScheduler {
  private constructor(
    private readonly queue: Queue<ExpireJob>,
    private readonly closeConnection: () => Promise<void>,
  ) {}

  static create(redisUrl: string, prefix: string): BullmqScheduler {
    const { connection, close } = bullConnection(redisUrl);
    const queue = new Queue<ExpireJob>(LIFECYCLE_QUEUE, { connection, prefix: `${prefix}bull` });
    queue.on("error", () => {});
    return new BullmqScheduler(queue, close);
  }

  /** Replaces any pending job of the room, so the newest deadline wins. */
  async schedule(roomId: string, at: Date): Promise<void> {
    const jobId = jobIdFor(roomId);
    await this.queue.remove(jobId).catch(() => 0);
    await this.queue.add(
      "expire",
      { roomId },
      { jobId, delay: Math.max(0, at.getTime() - Date.now()), removeOnComplete: true, removeOnFail: 100 },
    );
  }

  async cancel(roomId: string): Promise<void> {
    await this.queue.remove(jobIdFor(roomId)).catch(() => 0);
  }

  async delayedJob(roomId: string) {
    return this.queue.getJob(jobIdFor(roomId));
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.closeConnection();
  }
}
