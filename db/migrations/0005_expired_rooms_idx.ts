/** Recently expired rooms, for the sweep that re-announces an expiry whose announcement was lost. */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX rooms_expired_idx ON rooms (updated_at) WHERE state = 'EXPIRED'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX rooms_expired_idx`.execute(db);
}
