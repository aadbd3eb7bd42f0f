/**
 * The buffering policy of a room: whether a viewer who buffers pauses the room (`never`, the
 * default and the behaviour before; `wait_for_all`; `wait_for_share`), how long a wait lasts at
 * most, and for `wait_for_share` the share (%) of the online members who must be ready. The
 * wait itself is realtime state (src/state/buffer-waits/), not a table.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms
    ADD COLUMN buffering_policy varchar(20) NOT NULL DEFAULT 'never'
      CONSTRAINT rooms_buffering_policy_check CHECK (buffering_policy IN ('never', 'wait_for_all', 'wait_for_share')),
    ADD COLUMN buffering_max_wait_seconds integer NOT NULL DEFAULT 10
      CONSTRAINT rooms_buffering_max_wait_check CHECK (buffering_max_wait_seconds BETWEEN 1 AND 120),
    ADD COLUMN buffering_ready_percent integer NOT NULL DEFAULT 75
      CONSTRAINT rooms_buffering_ready_percent_check CHECK (buffering_ready_percent BETWEEN 1 AND 100)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms DROP COLUMN buffering_policy, DROP COLUMN buffering_max_wait_seconds,
    DROP COLUMN buffering_ready_percent`.execute(db);
}
