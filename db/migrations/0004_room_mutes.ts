/**
 * Durable mutes. They lived only in the realtime state (memory or Redis), so a restart of the
 * embedded process or of a Redis without persistence unmuted everyone; the database is now the
 * record and the realtime state a copy, restored when a room is loaded or Redis lost its data.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE room_mutes (
      room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      muted_by uuid REFERENCES users(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (room_id, user_id)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE room_mutes`.execute(db);
}
