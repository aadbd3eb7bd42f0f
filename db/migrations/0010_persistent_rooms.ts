/**
 * Persistent rooms. A registered host may keep a room: when its grace runs out (and no successor
 * takes it) it rests instead of expiring, with its queue, chat, settings and bans, until the
 * host or a successor by policy comes back. RESTING is a state of its own, as explicit and
 * DB-authoritative as the others; staff can still expire or delete a resting room.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms
    DROP CONSTRAINT rooms_state_check,
    ADD CONSTRAINT rooms_state_check CHECK (state IN ('CREATED', 'LIVE', 'GRACE', 'RESTING', 'EXPIRED', 'DELETED')),
    ADD COLUMN is_persistent boolean NOT NULL DEFAULT false,
    ADD COLUMN rested_at timestamptz,
    ADD CONSTRAINT rooms_resting_check CHECK (state <> 'RESTING' OR (is_persistent AND rested_at IS NOT NULL))`.execute(db);
  await sql`CREATE INDEX rooms_persistent_host_idx ON rooms (host_id) WHERE is_persistent`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Rooms at rest have no state to go back to: they end as expired ones do.
  await sql`UPDATE rooms SET state = 'EXPIRED' WHERE state = 'RESTING'`.execute(db);
  await sql`DROP INDEX rooms_persistent_host_idx`.execute(db);
  await sql`ALTER TABLE rooms
    DROP CONSTRAINT rooms_resting_check,
    DROP COLUMN is_persistent,
    DROP COLUMN rested_at,
    DROP CONSTRAINT rooms_state_check,
    ADD CONSTRAINT rooms_state_check CHECK (state IN ('CREATED', 'LIVE', 'GRACE', 'EXPIRED', 'DELETED'))`.execute(db);
}
