/**
 * The queue and vote skip. A room's queue is an ordered list of media items (dense positions
 * 0..n-1, at most 200) with a version that grows with every change, so two hosts editing at once
 * are told apart (`expected_version`). What plays now has an identity (`media_item_id`, new with
 * every source change): votes to skip count for it and lapse with it. Title and duration are what
 * the queue item (or later the provider) knew: a known duration lets the room move on by itself.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rooms
    ADD COLUMN queue_version integer NOT NULL DEFAULT 0,
    ADD COLUMN media_item_id uuid,
    ADD COLUMN media_title text,
    ADD COLUMN media_duration_seconds double precision,
    ADD COLUMN skip_threshold_percent integer NOT NULL DEFAULT 50
      CONSTRAINT rooms_skip_threshold_check CHECK (skip_threshold_percent BETWEEN 1 AND 100)`.execute(db);
  await sql`CREATE TABLE room_queue_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    position integer NOT NULL CONSTRAINT room_queue_items_position_check CHECK (position >= 0),
    provider varchar(50) NOT NULL,
    video_id varchar(255) NOT NULL,
    media_type varchar(10) NOT NULL DEFAULT 'movie',
    season integer,
    episode integer,
    title varchar(200),
    duration_seconds double precision CONSTRAINT room_queue_items_duration_check CHECK (duration_seconds > 0),
    added_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT room_queue_items_position_key UNIQUE (room_id, position) DEFERRABLE INITIALLY DEFERRED
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE room_queue_items`.execute(db);
  await sql`ALTER TABLE rooms DROP COLUMN queue_version, DROP COLUMN media_item_id, DROP COLUMN media_title,
    DROP COLUMN media_duration_seconds, DROP COLUMN skip_threshold_percent`.execute(db);
}
