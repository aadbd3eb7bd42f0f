/** Migrations run forward and back cleanly (here on PGlite; every suite runs them on PostgreSQL). */
import { sql } from "kysely";
import { afterAll, expect, it } from "vitest";
import { createMigrator, migrateToLatest } from "../../db/migrator.js";
import { openDatabase } from "../../src/db.js";

const database = await openDatabase({ kind: "pglite", dataDir: undefined });
afterAll(() => database.close());

const columns = async () =>
  (await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = 'chat_messages'`.execute(database.db)).rows.map(
    (r) => r.column_name,
  );

it("0002 adds the chat sequence, numbers existing messages, and can be rolled back", async () => {
  const migrator = createMigrator(database.db);
  await migrator.migrateTo("0001_initial");
  expect(await columns()).not.toContain("seq");
  const user = await sql<{ id: string }>`INSERT INTO users (display_name, is_guest) VALUES ('G', true) RETURNING id`.execute(database.db);
  const room = await sql<{ id: string }>`INSERT INTO rooms (code, host_id) VALUES ('MIGRAT', ${user.rows[0]!.id}) RETURNING id`.execute(database.db);
  await sql`INSERT INTO chat_messages (room_id, user_id, message) VALUES (${room.rows[0]!.id}, ${user.rows[0]!.id}, 'old')`.execute(database.db);

  await migrateToLatest(database.db);
  expect(await columns()).toContain("seq");
  const row = await sql<{ seq: string }>`SELECT seq FROM chat_messages`.execute(database.db);
  expect(Number(row.rows[0]!.seq)).toBeGreaterThan(0);

  // Every later migration rolls back too (0005 → 0002, then 0002 itself).
  const down = await migrator.migrateTo("0001_initial");
  expect(down.error).toBeUndefined();
  expect(down.results?.map((r) => r.migrationName)).toEqual(["0005_expired_rooms_idx", "0004_room_mutes", "0003_chat_slow_mode", "0002_chat_sequence"]);
  expect(await columns()).not.toContain("seq");
  const mutes = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'room_mutes'`.execute(database.db);
  expect(mutes.rows[0]!.n).toBe(0);
  await migrateToLatest(database.db);
  expect(await columns()).toContain("seq");
});
