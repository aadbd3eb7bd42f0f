/** The room state machine under concurrency, and the expire-rooms maintenance command. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOM_STATES } from "../db/schema.js";
import { openDatabase } from "../src/db.js";
import { canTransition, expireDueRooms, markExpired, markGrace, markLive } from "../src/lifecycle/transitions.js";
import { backend, startApp, type TestApp, testEnv } from "./helpers/app.js";

const run = promisify(execFile);
let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const db = () => t.app.database.db;

async function roomInGrace(endedSecondsAgo: number) {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  await markLive(db(), room.room_id);
  await markGrace(db(), room.room_id, 10, new Date(Date.now() - (10 + endedSecondsAgo) * 1000));
  return room;
}

describe("state machine", () => {
  it("allows exactly the documented transitions", () => {
    const allowed = ROOM_STATES.flatMap((from) => ROOM_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(
      [
        "CREATED->LIVE",
        "GRACE->LIVE",
        "LIVE->GRACE",
        "GRACE->EXPIRED",
        "CREATED->DELETED",
        "LIVE->DELETED",
        "GRACE->DELETED",
        // Persistent rooms (migration 0010).
        "GRACE->RESTING",
        "RESTING->LIVE",
        "RESTING->EXPIRED",
        "RESTING->DELETED",
      ].sort(),
    );
  });

  it("markGrace records the deadline; markLive (host returns) clears it", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    await markLive(db(), room.room_id);
    const grace = await markGrace(db(), room.room_id, 300);
    expect(grace!.grace_ends_at!.getTime() - grace!.host_disconnected_at!.getTime()).toBe(300_000);
    const live = await markLive(db(), room.room_id);
    expect(live).toMatchObject({ state: "LIVE", grace_ends_at: null, host_disconnected_at: null });
  });

  it("a GRACE room does not expire before its deadline", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    await markLive(db(), room.room_id);
    await markGrace(db(), room.room_id, 300);
    expect(await markExpired(db(), room.room_id)).toBeUndefined();
    expect((await expireDueRooms(db())).map((r) => r.id)).not.toContain(room.room_id);
  });

  it("concurrent expiries of one room: exactly one caller wins", async () => {
    const room = await roomInGrace(1);
    const results = await Promise.all([
      ...Array.from({ length: 8 }, () => markExpired(db(), room.room_id)),
      ...Array.from({ length: 4 }, () => expireDueRooms(db()).then((rows) => rows.find((r) => r.id === room.room_id))),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("a host returning at the last moment races the expiry: one of them wins, never both", async () => {
    for (let i = 0; i < 5; i += 1) {
      const room = await roomInGrace(0);
      const [expired, live] = await Promise.all([markExpired(db(), room.room_id), markLive(db(), room.room_id)]);
      expect(Boolean(expired) !== Boolean(live)).toBe(true);
    }
  });
});

describe("npm run expire-rooms", () => {
  it("expires due GRACE rooms and prints the original's line", async () => {
    // The command opens its own connection: for PGlite, a data directory no server holds.
    const { env } = testEnv(
      backend === "embedded" ? {} : { DATABASE_SCHEMA: t.config.database.kind === "postgres" ? t.config.database.schema : undefined },
    );
    if (backend === "embedded") env.DATABASE_URL = `pglite://${env.DATA_DIR}/pgdata`;
    const app = backend === "embedded" ? await startApp(env) : t;
    try {
      const host = await app.api.register();
      const room = await app.api.createRoom(host.token);
      const adb = app.app.database.db;
      await markLive(adb, room.room_id);
      await markGrace(adb, room.room_id, 1, new Date(Date.now() - 5000));
      if (backend === "embedded") await app.app.close();
      const cliEnv = { ...process.env, ...env };
      const first = await run(process.execPath, ["--import", "tsx", "workers/expire-rooms.ts"], { env: cliEnv });
      expect(first.stdout.trim()).toBe("Expired 1 room(s)");
      const second = await run(process.execPath, ["--import", "tsx", "workers/expire-rooms.ts"], { env: cliEnv });
      expect(second.stdout.trim()).toBe("Expired 0 room(s)");
    } finally {
      if (backend === "embedded") await app.stop();
    }
  }, 60_000);
});

describe.runIf(backend === "embedded")("embedded database safety", () => {
  it("refuses a second process on the same PGlite directory", async () => {
    const { env } = testEnv();
    const dataDir = `${env.DATA_DIR}/pgdata`;
    const first = await openDatabase({ kind: "pglite", dataDir });
    try {
      const child = run(process.execPath, ["--import", "tsx", "workers/expire-rooms.ts"], {
        env: { ...process.env, ...env, DATABASE_URL: `pglite://${dataDir}` },
      });
      await expect(child).rejects.toThrow(/in use by process/);
    } finally {
      await first.close();
    }
  }, 60_000);
});
