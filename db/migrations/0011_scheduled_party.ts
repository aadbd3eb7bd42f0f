/**
 * Scheduled parties: a room may name the moment its playback starts by itself. The start clears
 * the column in the same conditional UPDATE that claims it (only while it still names that
 * moment), so a job that runs twice, late, or on two workers starts the room once. The partial
 * index serves the restart's re-scheduling and the worker's sweep of missed starts.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms ADD COLUMN party_starts_at timestamptz`.execute(db);
  await sql`CREATE INDEX rooms_party_starts_at_idx ON rooms (party_starts_at) WHERE party_starts_at IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX rooms_party_starts_at_idx`.execute(db);
  await sql`ALTER TABLE rooms DROP COLUMN party_starts_at`.execute(db);
}
