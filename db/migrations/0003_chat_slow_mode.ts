/** Chat slow mode per room: viewers may send one message every N seconds (0 = off). */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms ADD COLUMN chat_slow_mode_seconds integer NOT NULL DEFAULT 0
    CONSTRAINT rooms_chat_slow_mode_range CHECK (chat_slow_mode_seconds BETWEEN 0 AND 3600)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms DROP COLUMN chat_slow_mode_seconds`.execute(db);
}
