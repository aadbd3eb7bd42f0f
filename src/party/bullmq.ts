/**
 * Party starts as BullMQ delayed jobs (cluster mode), on the lifecycle queue under their own job
 * name, so the lifecycle worker runs them. The job id names the room and the party time: two web
 * processes re-scheduling the same party after a restart add one job, and a moved party's old
 * job is removed by its id (one left behind finds the time changed and does nothing).
 */
import { Queue } from "bullmq";
import { bullConnection, LIFECYCLE_QUEUE } from "../lifecycle/bullmq.js";
import type { PartyScheduler } from "./scheduler.js";

export const PARTY_JOB = "party-start";
export interface PartyJob {
  roomId: string;
  /** The party time the job starts (ISO). */
  startsAt: string;
}

export const partyJobId = (roomId: string, startsAt: Date) => `party-${roomId}-${startsAt.getTime()}`;

export class BullmqPartyScheduler implements PartyScheduler {
  private constructor(
    private readonly queue: Queue<PartyJob>,
    private readonly closeConnection: () => Promise<void>,
  ) {}

  static create(redisUrl: string, prefix: string): BullmqPartyScheduler {
    const { connection, close } = bullConnection(redisUrl);
    const queue = new Queue<PartyJob>(LIFECYCLE_QUEUE, { connection, prefix: `${prefix}bull` });
    queue.on("error", () => {});
    return new BullmqPartyScheduler(queue, close);
  }

  /** Adds the job unless one with its id exists (the same party, scheduled again). */
  async schedule(roomId: string, startsAt: Date, fireAt: Date): Promise<void> {
    await this.queue.add(
      PARTY_JOB,
      { roomId, startsAt: startsAt.toISOString() },
      {
        jobId: partyJobId(roomId, startsAt),
        delay: Math.max(0, fireAt.getTime() - Date.now()),
        removeOnComplete: true,
        removeOnFail: 100,
      },
    );
  }

  async cancel(roomId: string, startsAt: Date): Promise<void> {
    await this.queue.remove(partyJobId(roomId, startsAt)).catch(() => 0);
  }

  async job(roomId: string, startsAt: Date) {
    return this.queue.getJob(partyJobId(roomId, startsAt));
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.closeConnection();
  }
}
