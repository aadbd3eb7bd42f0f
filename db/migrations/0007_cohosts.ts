/**
 * Co-hosts and host succession. A host may name co-hosts among the approved participants; the
 * room says what co-hosts may do and whether someone takes over when the host's grace runs out
 * (EXPIRE: the room expires, as before; COHOST: the longest-present co-host; ANYONE: a co-host,
 * else the longest-present registered viewer). The host who lost the room that way may reclaim
 * it until `reclaim_until`.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE room_participants ADD COLUMN is_cohost boolean NOT NULL DEFAULT false`.execute(db);
  await sql`ALTER TABLE rooms
    ADD COLUMN succession text NOT NULL DEFAULT 'EXPIRE'
      CONSTRAINT rooms_succession_check CHECK (succession IN ('EXPIRE', 'COHOST', 'ANYONE')),
    ADD COLUMN cohosts_control_playback boolean NOT NULL DEFAULT true,
    ADD COLUMN cohosts_moderate boolean NOT NULL DEFAULT true,
    ADD COLUMN previous_host_id uuid REFERENCES users(id) ON DELETE SET NULL,
    ADD COLUMN reclaim_until timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms DROP COLUMN succession, DROP COLUMN cohosts_control_playback,
    DROP COLUMN cohosts_moderate, DROP COLUMN previous_host_id, DROP COLUMN reclaim_until`.execute(db);
  await sql`ALTER TABLE room_participants DROP COLUMN is_cohost`.execute(db);
}
