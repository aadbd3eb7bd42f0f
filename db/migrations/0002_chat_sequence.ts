/**
 * Chat order by insertion sequence. Timestamps can tie (PGlite's clock is coarse, and a
 * group-committed batch is written in microseconds), and a tie broken by a random UUID scrambles
 * history; an identity column orders messages exactly as they were committed.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE chat_messages ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY`.execute(db);
  await sql`DROP INDEX chat_messages_room_created_idx`.execute(db);
  await sql`CREATE INDEX chat_messages_room_seq_idx ON chat_messages (room_id, seq DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX chat_messages_room_seq_idx`.execute(db);
  await sql`CREATE INDEX chat_messages_room_created_idx ON chat_messages (room_id, created_at DESC)`.execute(db);
  await sql`ALTER TABLE chat_messages DROP COLUMN seq`.execute(db);
}
