/** BullMQ grace jobs: one per room (by job id), replaced by a newer deadline, removed on return. */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { BullmqScheduler } from "../../src/lifecycle/bullmq.js";

const redisUrl = process.env.TEST_REDIS_URL;

describe.runIf(Boolean(redisUrl))("BullMQ grace scheduler", () => {
  const scheduler = redisUrl ? BullmqScheduler.create(redisUrl, `test:bull:${randomUUID().slice(0, 8)}:`) : undefined;
  afterAll(() => scheduler?.close());

  it("keeps one delayed job per room, with the newest deadline, and removes it on cancel", async () => {
    const roomId = randomUUID();
    await scheduler!.schedule(roomId, new Date(Date.now() + 60_000));
    await scheduler!.schedule(roomId, new Date(Date.now() + 120_000));
    const job = await scheduler!.delayedJob(roomId);
    expect(job?.data).toEqual({ roomId });
    expect(job!.opts.delay).toBeGreaterThan(100_000);
    expect(await job!.getState()).toBe("delayed");
    await scheduler!.cancel(roomId);
    expect(await scheduler!.delayedJob(roomId)).toBeUndefined();
    await scheduler!.cancel(roomId); // idempotent
  });
});
