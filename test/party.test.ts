/**
 * Scheduled parties start exactly once, whoever fires them: two schedulers (and, in cluster
 * mode, two BullMQ jobs on two lifecycle workers) racing for the same start make one playback
 * version bump and one party.started; a restart schedules pending parties again; the sweep
 * starts a party whose firing was lost.
 */
import { Queue, QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullConnection, LIFECYCLE_QUEUE } from "../src/lifecycle/bullmq.js";
import { startLifecycleWorker } from "../src/lifecycle/worker.js";
import { BullmqPartyScheduler, PARTY_JOB, partyJobId } from "../src/party/bullmq.js";
import type { PartyScheduler } from "../src/party/scheduler.js";
import { PartyService } from "../src/party/service.js";
import { backend, startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const options = { maxDaysAhead: 30, leadMs: 1500, lateLeadMs: 250 };
/** A scheduler that only records what it was asked. */
function recorder() {
  const scheduled: [string, number, number][] = [];
  const scheduler: PartyScheduler = {
    schedule: (roomId, startsAt, fireAt) => void scheduled.push([roomId, startsAt.getTime(), fireAt.getTime()]),
    cancel: () => {},
    close: () => {},
  };
  return { scheduled, scheduler };
}

async function roomWithMedia() {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  const set = await t.api.post(
    "/api/rooms/source/",
    { room_id: room.room_id, provider: "direct", video_id: "https://media.example/once.webm" },
    { token: host.token },
  );
  expect(set.status).toBe(200);
  return { host, room };
}

const db = () => t.app.database.db;
const playbackVersion = async (roomId: string) =>
  (await db().selectFrom("playback_states").select("version").where("room_id", "=", roomId).executeTakeFirstOrThrow()).version;
const timeline = async (roomId: string, event: string) =>
  (await db().selectFrom("room_events").select("event").where("room_id", "=", roomId).where("event", "=", event).execute()).length;
/** The party time in the database, as the service stored it. */
async function partyTime(roomId: string, ms: number): Promise<Date> {
  await db()
    .updateTable("rooms")
    .set({ party_starts_at: new Date(Date.now() + ms) })
    .where("id", "=", roomId)
    .execute();
  const row = await db().selectFrom("rooms").select("party_starts_at").where("id", "=", roomId).executeTakeFirstOrThrow();
  return row.party_starts_at!;
}

describe("exactly once", () => {
  it("two schedulers firing the same start: one version bump, one party.started; a late or repeated firing does nothing", async () => {
    const { host, room } = await roomWithMedia();
    const before = await playbackVersion(room.room_id);
    // Set through the app (its own timer or job fires too, a start lead early): then three more race.
    const startsAt = new Date(Date.now() + 2000);
    const set = await t.api.post("/api/rooms/party/", { room_id: room.room_id, starts_at: startsAt.toISOString() }, { token: host.token });
    expect(set.status).toBe(200);
    const others = [0, 1].map(() => new PartyService(db(), t.app.events, recorder().scheduler, options));
    const started = new Promise<void>((resolve) => {
      const off = t.app.events.subscribe((event) => {
        if (event.type === "room.party_changed" && event.roomId === room.room_id && event.reason === "started") {
          off();
          resolve();
        }
      });
    });
    const outcomes = await Promise.all([...others, t.app.realtime.parties].map((p) => p.start(room.room_id, startsAt)));
    await started;
    const all = [...outcomes, await others[0]!.start(room.room_id, startsAt), await others[1]!.sweep()];
    // One of the racers won, unless the app's own firing came first (then none did).
    expect(all.filter((o) => o === "started").length).toBeLessThanOrEqual(1);
    expect(await playbackVersion(room.room_id)).toBe(before + 1);
    expect(await timeline(room.room_id, "party.started")).toBe(1);
    expect(await timeline(room.room_id, "playback.play")).toBe(1);
  });

  it.runIf(backend === "cluster")("two BullMQ jobs for the same start on two lifecycle workers: one start", async () => {
    const { room } = await roomWithMedia();
    const before = await playbackVersion(room.room_id);
    const startsAt = await partyTime(room.room_id, 2000);
    const { REDIS_URL, REDIS_PREFIX: prefix } = t.config;
    // Two more workers besides the test app's, each with its own party service.
    const workers = [0, 1].map(() =>
      startLifecycleWorker({
        redisUrl: REDIS_URL!,
        prefix,
        lifecycle: t.app.realtime.lifecycle,
        parties: new PartyService(db(), t.app.events, recorder().scheduler, options),
        sweepMs: 3_600_000,
      }),
    );
    const schedulers = [0, 1].map(() => BullmqPartyScheduler.create(REDIS_URL!, prefix));
    const bull = bullConnection(REDIS_URL!);
    const queue = new Queue(LIFECYCLE_QUEUE, { connection: bull.connection, prefix: `${prefix}bull` });
    const queueEvents = new QueueEvents(LIFECYCLE_QUEUE, { connection: bull.connection, prefix: `${prefix}bull` });
    try {
      // The same party scheduled twice (two web processes restarting) is one job.
      const later = new Date(Date.now() + 3_600_000);
      for (const s of schedulers) await s.schedule(room.room_id, later, later);
      const delayed = (await queue.getDelayed()).filter((job) => job.data.roomId === room.room_id);
      expect(delayed.map((job) => job.id)).toEqual([partyJobId(room.room_id, later)]);
      await schedulers[0]!.cancel(room.room_id, later);
      // Two jobs for the same start (a stale id, a re-run), due together: the start is taken once.
      await queueEvents.waitUntilReady();
      const data = { roomId: room.room_id, startsAt: startsAt.toISOString() };
      const jobs = await Promise.all(
        ["a", "b"].map((id) => queue.add(PARTY_JOB, data, { jobId: `twice-${id}-${room.room_id}`, delay: 500 })),
      );
      const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(queueEvents, 10_000)));
      expect(results.map((r: { outcome: unknown }) => r.outcome).sort()).toEqual([null, "started"].sort());
      expect(await playbackVersion(room.room_id)).toBe(before + 1);
      expect(await timeline(room.room_id, "party.started")).toBe(1);
    } finally {
      await Promise.all([...workers.map((w) => w.close()), ...schedulers.map((s) => s.close())]);
      await queueEvents.close();
      await queue.close();
      await bull.close();
    }
  });
});

describe("restarts", () => {
  it("a process starting schedules every pending party again, a start lead early", async () => {
    const { room } = await roomWithMedia();
    const startsAt = await partyTime(room.room_id, 3_600_000);
    const { scheduled, scheduler } = recorder();
    await new PartyService(db(), t.app.events, scheduler, options).recover();
    expect(scheduled).toContainEqual([room.room_id, startsAt.getTime(), startsAt.getTime() - 1500]);
    if (backend === "cluster") {
      // The job the restart adds is where the worker finds it (and a second restart adds none).
      const bull = BullmqPartyScheduler.create(t.config.REDIS_URL!, t.config.REDIS_PREFIX);
      try {
        await t.app.realtime.parties.recover();
        await t.app.realtime.parties.recover();
        expect(await bull.job(room.room_id, startsAt)).toMatchObject({ name: PARTY_JOB, data: { roomId: room.room_id } });
      } finally {
        await bull.cancel(room.room_id, startsAt);
        await bull.close();
      }
    }
  });

  it("the sweep starts a party whose firing was lost", async () => {
    const { room } = await roomWithMedia();
    const before = await playbackVersion(room.room_id);
    await partyTime(room.room_id, -5000);
    const parties = new PartyService(db(), t.app.events, recorder().scheduler, options);
    expect(await parties.sweep()).toBeGreaterThanOrEqual(1);
    expect(await playbackVersion(room.room_id)).toBe(before + 1);
    expect(await timeline(room.room_id, "party.started")).toBe(1);
    expect(await parties.sweep()).toBe(0);
  });
});
