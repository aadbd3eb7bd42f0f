/** Migrations run forward and back cleanly (here on PGlite; every suite runs them on PostgreSQL). */
import { readdirSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, expect, it } from "vitest";
import { createMigrator, migrateToLatest } from "../../db/migrator.js";
import { openDatabase } from "../../src/db.js";

const database = await openDatabase({ kind: "pglite", dataDir: undefined });
afterAll(() => database.close());

const columns = async () =>
  (
    await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = 'chat_messages'`.execute(
      database.db,
    )
  ).rows.map((r) => r.column_name);

it("0002 adds the chat sequence, numbers existing messages, and can be rolled back", async () => {
  const migrator = createMigrator(database.db);
  await migrator.migrateTo("0001_initial");
  expect(await columns()).not.toContain("seq");
  const user = await sql<{ id: string }>`INSERT INTO users (display_name, is_guest) VALUES ('G', true) RETURNING id`.execute(database.db);
  const room = await sql<{ id: string }>`INSERT INTO rooms (code, host_id) VALUES ('MIGRAT', ${user.rows[0]!.id}) RETURNING id`.execute(
    database.db,
  );
  await sql`INSERT INTO chat_messages (room_id, user_id, message) VALUES (${room.rows[0]!.id}, ${user.rows[0]!.id}, 'old')`.execute(
    database.db,
  );

  await migrateToLatest(database.db);
  expect(await columns()).toContain("seq");
  const row = await sql<{ seq: string }>`SELECT seq FROM chat_messages`.execute(database.db);
  expect(Number(row.rows[0]!.seq)).toBeGreaterThan(0);

  // Every later migration rolls back too (the newest → 0002, then 0002 itself).
  const down = await migrator.migrateTo("0001_initial");
  expect(down.error).toBeUndefined();
  const later = readdirSync(new URL("../../db/migrations/", import.meta.url))
    .map((f) => f.replace(/\.ts$/, ""))
    .filter((name) => name > "0001_initial")
    .sort()
    .reverse();
  expect(later.slice(-2)).toEqual(["0003_chat_slow_mode", "0002_chat_sequence"]);
  expect(down.results?.map((r) => r.migrationName)).toEqual(later);
  expect(await columns()).not.toContain("seq");
  const mutes = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'room_mutes'`.execute(
    database.db,
  );
  expect(mutes.rows[0]!.n).toBe(0);
  await migrateToLatest(database.db);
  expect(await columns()).toContain("seq");
});

it("0006 numbers existing room events in time order and makes the log append-only", async () => {
  const migrator = createMigrator(database.db);
  await migrator.migrateTo("0005_expired_rooms_idx");
  const db = database.db;
  const host = await sql<{ id: string }>`INSERT INTO users (display_name, is_guest) VALUES ('H', true) RETURNING id`.execute(db);
  const actor = await sql<{ id: string }>`INSERT INTO users (display_name, is_guest) VALUES ('A', true) RETURNING id`.execute(db);
  const room = await sql<{ id: string }>`INSERT INTO rooms (code, host_id) VALUES ('TIMELN', ${host.rows[0]!.id}) RETURNING id`.execute(db);
  const roomId = room.rows[0]!.id;
  // Inserted out of time order: the numbering follows created_at, not insertion.
  await sql`INSERT INTO room_events (room_id, actor_id, event, created_at) VALUES
    (${roomId}, ${actor.rows[0]!.id}, 'second', now() - interval '1 minute'),
    (${roomId}, NULL, 'first', now() - interval '2 minutes')`.execute(db);

  await migrateToLatest(db);
  const order = await sql<{
    event: string;
    seq: number;
  }>`SELECT event, seq FROM room_events WHERE room_id = ${roomId} ORDER BY seq`.execute(db);
  expect(order.rows.map((r) => [r.event, Number(r.seq)])).toEqual([
    ["first", 1],
    ["second", 2],
  ]);
  await sql`INSERT INTO room_events (room_id, event) VALUES (${roomId}, 'third')`.execute(db);
  const third = await sql<{ seq: number }>`SELECT seq FROM room_events WHERE event = 'third'`.execute(db);
  expect(Number(third.rows[0]!.seq), "new rows continue after the numbered ones").toBe(3);

  await expect(sql`UPDATE room_events SET event = 'rewritten' WHERE room_id = ${roomId}`.execute(db)).rejects.toThrow(/append-only/);
  await expect(sql`UPDATE room_events SET data = '{"x":1}' WHERE event = 'first'`.execute(db)).rejects.toThrow(/append-only/);
  // A deleted user leaves its events, without the actor (ON DELETE SET NULL passes the trigger).
  await sql`DELETE FROM users WHERE id = ${actor.rows[0]!.id}`.execute(db);
  const second = await sql<{ actor_id: string | null }>`SELECT actor_id FROM room_events WHERE event = 'second'`.execute(db);
  expect(second.rows).toEqual([{ actor_id: null }]);
  // A deleted room takes its events with it (ON DELETE CASCADE).
  await sql`DELETE FROM rooms WHERE id = ${roomId}`.execute(db);
  const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM room_events WHERE room_id = ${roomId}`.execute(db);
  expect(left.rows[0]!.n).toBe(0);

  const down = await migrator.migrateTo("0005_expired_rooms_idx");
  expect(down.error).toBeUndefined();
  await sql`INSERT INTO room_events (room_id, event) SELECT id, 'x' FROM rooms LIMIT 1`.execute(db);
  await sql`UPDATE room_events SET event = 'y' WHERE event = 'x'`.execute(db);
  await migrateToLatest(db);
});
