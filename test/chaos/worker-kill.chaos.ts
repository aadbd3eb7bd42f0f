/**
 * Lifecycle workers SIGKILLed around the grace job of a room. The room must expire exactly
 * once: state EXPIRED in the database, one `room.expired` audit row, one `room.expired` event on
 * the bus, and one ROOM_EXPIRED (then close 4004) for each connected client.
 *
 * Deterministic kill points:
 *  1. before the job is due (it waits, delayed, in Redis): a replacement worker runs it;
 *  2. while the job is active: the test holds the room's row lock, so the job's conditional
 *     UPDATE blocks (seen in pg_stat_activity, and the job is `active` in BullMQ); then the
 *     worker is killed.
 *     a. the orphaned statement is aborted (what PostgreSQL does once it notices the client
 *        is gone): the replacement worker's sweep expires the room;
 *     b. the lock is released and the orphaned UPDATE runs (PostgreSQL does not notice a
 *        vanished client while it waits on a lock): the expiry and its audit row are one
 *        transaction, which cannot commit without its client, so the room stays in grace and
 *        the replacement worker expires it.
 *  3. after the commit, before the announcement: the next sweep re-announces an expiry whose
 *     room still has people connected.
 */
import { Queue } from "bullmq";
import pg from "pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullConnection, jobIdFor, LIFECYCLE_QUEUE } from "../../src/lifecycle/bullmq.js";
import { hasRedisServer, type Proc } from "../helpers/cluster.js";
import { ChaosCluster, eventually, Member, makeRoom, sleep } from "./harness.js";
import { canRunPrivatePostgres } from "./postgres.js";

const GRACE_SECONDS = 3;

describe.runIf(canRunPrivatePostgres && hasRedisServer)("chaos: lifecycle worker killed around the grace job", () => {
  let cluster: ChaosCluster;
  let queue: Queue;
  let closeQueue: () => Promise<void>;
  let bus: ReturnType<typeof createClient>;
  /** room id → room.expired events seen on the bus. */
  const expiredEvents = new Map<string, number>();

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ webs: 1, workers: 1, env: { GRACE_PERIOD_SECONDS: String(GRACE_SECONDS) } });
    const { connection, close } = bullConnection(cluster.env.REDIS_URL!);
    queue = new Queue(LIFECYCLE_QUEUE, { connection, prefix: `${cluster.env.REDIS_PREFIX}bull` });
    queue.on("error", () => {});
    closeQueue = close;
    bus = createClient({ url: cluster.env.REDIS_URL, RESP: 2 });
    bus.on("error", () => {});
    await bus.connect();
    await bus.subscribe(`${cluster.env.REDIS_PREFIX}room-events`, (message) => {
      const event = JSON.parse(message) as { type: string; roomId: string };
      if (event.type === "room.expired") expiredEvents.set(event.roomId, (expiredEvents.get(event.roomId) ?? 0) + 1);
    });
  });

  afterAll(async () => {
    await queue?.close().catch(() => {});
    await closeQueue?.();
    if (bus?.isOpen) await bus.quit().catch(() => {});
    await cluster?.stop();
  });

  /** A room with its host and two viewers (raw and Socket.IO) connected; then the host leaves. */
  async function roomInGrace() {
    const web = cluster.webs[0]!;
    const room = await makeRoom(cluster.api(0), 2);
    const host = new Member("host", room.host, room.code, web.baseUrl, "ws");
    const viewers = [
      new Member("viewer raw", room.guests[0]!, room.code, web.baseUrl, "ws"),
      new Member("viewer sio", room.guests[1]!, room.code, web.baseUrl, "socket.io"),
    ];
    await host.connect();
    for (const v of viewers) await v.connect();
    await host.close();
    await eventually(
      "grace job scheduled",
      async () => (await queue.getJob(jobIdFor(room.roomId)))?.getState().then((s) => s === "delayed"),
      5000,
      50,
    );
    return { room, viewers };
  }

  async function auditRows(roomId: string): Promise<number> {
    const { rows } = await cluster
      .db()
      .query<{ n: number }>("SELECT count(*)::int AS n FROM room_events WHERE room_id = $1 AND event = 'room.expired'", [roomId]);
    return rows[0]!.n;
  }

  async function roomState(roomId: string): Promise<string> {
    const { rows } = await cluster.db().query<{ state: string }>("SELECT state FROM rooms WHERE id = $1", [roomId]);
    return rows[0]!.state;
  }

  /** Exactly one expiry, seen everywhere it should be, and nothing more within `settleMs`. */
  async function expectExpiredOnce(room: { roomId: string }, viewers: Member[], settleMs = 2000) {
    for (const v of viewers) {
      await eventually(`${v.name} told ROOM_EXPIRED and closed`, async () => v.expiredEvents > 0 && v.closeInfo !== undefined, 15_000, 50);
    }
    await sleep(settleMs);
    expect(await roomState(room.roomId)).toBe("EXPIRED");
    expect(await auditRows(room.roomId)).toBe(1);
    expect(expiredEvents.get(room.roomId)).toBe(1);
    for (const v of viewers) {
      expect(v.expiredEvents, v.name).toBe(1);
      expect(v.closeInfo?.code, v.name).toBe(4004);
    }
  }

  /** Holds the room row's lock until the grace job's UPDATE waits on it; returns its backend pid. */
  async function blockJobOnRowLock(roomId: string, worker: Proc) {
    const locker = new pg.Client({ connectionString: cluster.pg.url });
    locker.on("error", () => {});
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", [roomId]);
    const blocked = await eventually(
      "the grace job's UPDATE waiting on the row lock",
      async () => {
        const { rows } = await cluster
          .db()
          .query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'update "rooms"%' AND pid <> pg_backend_pid()`,
          );
        return rows[0]?.pid;
      },
      (GRACE_SECONDS + 10) * 1000,
      50,
    );
    expect(await (await queue.getJob(jobIdFor(roomId)))!.getState()).toBe("active");
    expect(worker.child.exitCode).toBeNull();
    return { locker, blockedPid: blocked };
  }

  it("killed before the job is due: the replacement worker runs it, once", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const { room, viewers } = await roomInGrace();
    await cluster.kill(cluster.workers[0]!); // SIGKILL, job still delayed
    await cluster.addWorker();
    await expectExpiredOnce(room, viewers);
  });

  it("killed mid-job, the orphaned UPDATE aborted: the replacement worker's sweep expires the room, once", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const { room, viewers } = await roomInGrace();
    const worker = cluster.workers[0]!;
    const { locker, blockedPid } = await blockJobOnRowLock(room.roomId, worker);
    await cluster.kill(worker);
    // The dead worker's statement is aborted (as with client_connection_check_interval)...
    await cluster.db().query("SELECT pg_terminate_backend($1)", [blockedPid]);
    await locker.query("ROLLBACK");
    await locker.end();
    expect(await roomState(room.roomId)).toBe("GRACE");
    expect(viewers.every((v) => v.expiredEvents === 0)).toBe(true);
    // ...and a new worker finds the overdue room at start-up.
    await cluster.addWorker();
    await expectExpiredOnce(room, viewers);
    // The dead worker's job is still `active` until BullMQ's stall check (lockDuration and
    // stalledInterval, 30 s each) hands it to a worker again; that re-run is a no-op
    // (markExpired is a conditional UPDATE), like the second worker of the cluster suite.
    expect(await (await queue.getJob(jobIdFor(room.roomId)))?.getState()).toBe("active");
  });

  it("killed mid-job, the lock released: the orphaned transaction cannot commit half an expiry; the room expires once", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const { room, viewers } = await roomInGrace();
    const worker = cluster.workers[0]!;
    const { locker, blockedPid } = await blockJobOnRowLock(room.roomId, worker);
    await cluster.kill(worker);
    // Releasing the lock lets the orphaned UPDATE run; its transaction then finds its client gone
    // before the audit INSERT and rolls back, so the room is still in grace, with no audit row.
    await locker.query("ROLLBACK");
    await locker.end();
    await eventually(
      "the orphaned backend gone",
      async () => (await cluster.db().query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [blockedPid])).rowCount === 0,
      10_000,
      50,
    );
    expect(await roomState(room.roomId)).toBe("GRACE");
    expect(await auditRows(room.roomId)).toBe(0);
    await cluster.addWorker();
    await expectExpiredOnce(room, viewers);
  }, 60_000);

  it("an expiry committed by a worker that died before announcing it is announced by the next sweep, once", async (ctx) => {
    ctx.onTestFailed(() => console.log(cluster.logs()));
    const { room, viewers } = await roomInGrace();
    await cluster.kill(cluster.workers[0]!);
    // Exactly what a worker leaves when it dies between its commit and its publish: the
    // transition and its audit row, committed together, and nobody told.
    await cluster.db().query(
      `WITH e AS (UPDATE rooms SET state = 'EXPIRED', updated_at = now() WHERE id = $1 AND state = 'GRACE' RETURNING id)
       INSERT INTO room_events (room_id, actor_id, event, data) SELECT id, NULL, 'room.expired', '{}' FROM e`,
      [room.roomId],
    );
    await sleep(1000);
    expect(
      viewers.every((v) => v.expiredEvents === 0 && v.closeInfo === undefined),
      "nobody told yet",
    ).toBe(true);
    await cluster.addWorker();
    await expectExpiredOnce(room, viewers);
  }, 60_000);
});
