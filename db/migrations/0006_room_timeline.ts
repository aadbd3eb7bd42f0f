/**
 * The room timeline. room_events becomes an append-only, exactly ordered log:
 *  - `seq` (identity) orders it as committed (timestamps can tie, see 0002); existing rows are
 *    numbered in created_at order first;
 *  - `reason` carries the moderator's reason (kick, mute, ban);
 *  - a trigger refuses UPDATE. Two changes stay possible: DELETE (the ON DELETE CASCADE of a
 *    deleted room) and clearing actor_id alone (the ON DELETE SET NULL of a deleted user);
 *  - a seek is undone at most once (UNDO_SEEK), enforced by a partial unique index.
 * Mutes and bans get a reason and an optional expiry (timed mutes and bans).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ["room_bans", "room_mutes"]) {
    await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN reason text CHECK (length(reason) <= 200), ADD COLUMN expires_at timestamptz`.execute(
      db,
    );
  }

  await sql`ALTER TABLE room_events ADD COLUMN seq bigint, ADD COLUMN reason text`.execute(db);
  await sql`
    UPDATE room_events e SET seq = o.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM room_events) o
    WHERE o.id = e.id`.execute(db);
  await sql`ALTER TABLE room_events ALTER COLUMN seq SET NOT NULL`.execute(db);
  await sql`ALTER TABLE room_events ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY`.execute(db);
  const { rows } = await sql<{ next: number | string }>`SELECT coalesce(max(seq), 0) + 1 AS next FROM room_events`.execute(db);
  await sql`ALTER TABLE room_events ALTER COLUMN seq RESTART WITH ${sql.lit(Number(rows[0]!.next))}`.execute(db);
  await sql`DROP INDEX room_events_room_idx`.execute(db);
  await sql`CREATE INDEX room_events_room_seq_idx ON room_events (room_id, seq)`.execute(db);
  await sql`
    CREATE UNIQUE INDEX room_events_seek_undone_key ON room_events (room_id, (data->>'undone_seq'))
    WHERE event = 'playback.seek_undone'`.execute(db);

  await sql`
    CREATE FUNCTION room_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- A deleted user's ON DELETE SET NULL: the row keeps everything but the actor.
      IF NEW.actor_id IS NULL AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'room_events is append-only';
    END
    $$`.execute(db);
  await sql`
    CREATE TRIGGER room_events_append_only BEFORE UPDATE ON room_events
    FOR EACH ROW EXECUTE FUNCTION room_events_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER room_events_append_only ON room_events`.execute(db);
  await sql`DROP FUNCTION room_events_append_only()`.execute(db);
  await sql`DROP INDEX room_events_seek_undone_key`.execute(db);
  await sql`DROP INDEX room_events_room_seq_idx`.execute(db);
  await sql`CREATE INDEX room_events_room_idx ON room_events (room_id, created_at)`.execute(db);
  await sql`ALTER TABLE room_events DROP COLUMN seq, DROP COLUMN reason`.execute(db);
  for (const table of ["room_bans", "room_mutes"]) {
    await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN reason, DROP COLUMN expires_at`.execute(db);
  }
}
