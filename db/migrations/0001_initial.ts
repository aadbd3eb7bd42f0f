/**
 * The initial schema. Plain SQL that PostgreSQL 15 and PGlite (Postgres 17) both accept:
 * no PG16+ features. Constraints carry the invariants, so races cannot break them.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email varchar(254),
      username varchar(30),
      display_name varchar(50) NOT NULL CHECK (length(btrim(display_name)) > 0),
      password_hash text,
      is_guest boolean NOT NULL DEFAULT false,
      is_active boolean NOT NULL DEFAULT true,
      is_staff boolean NOT NULL DEFAULT false,
      is_superuser boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_login timestamptz,
      CHECK (is_guest OR email IS NOT NULL)
    )`.execute(db);
  // Case-insensitive uniqueness, enforced by the database so concurrent sign-ups cannot race.
  await sql`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`.execute(db);
  await sql`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`.execute(db);

  await sql`
    CREATE TABLE auth_sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id)`.execute(db);

  await sql`
    CREATE TABLE refresh_tokens (
      token_hash text PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)`.execute(db);

  await sql`
    CREATE TABLE rooms (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      code varchar(10) NOT NULL UNIQUE,
      state varchar(16) NOT NULL DEFAULT 'CREATED'
        CHECK (state IN ('CREATED', 'LIVE', 'GRACE', 'EXPIRED', 'DELETED')),
      host_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      is_private boolean NOT NULL DEFAULT false,
      entry_mode varchar(10) CHECK (entry_mode IN ('APPROVAL', 'PASSWORD')),
      entry_password_hash text,
      is_chat_enabled boolean NOT NULL DEFAULT true,
      video_provider varchar(50) NOT NULL DEFAULT '',
      video_id varchar(255) NOT NULL DEFAULT '',
      media_type varchar(10) CHECK (media_type IN ('movie', 'tv')),
      season integer CHECK (season >= 0),
      episode integer CHECK (episode >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      host_disconnected_at timestamptz,
      grace_ends_at timestamptz,
      CHECK (state <> 'GRACE' OR grace_ends_at IS NOT NULL),
      CHECK (NOT is_private OR entry_mode IS NOT NULL),
      CHECK (entry_mode IS DISTINCT FROM 'PASSWORD' OR entry_password_hash IS NOT NULL)
    )`.execute(db);
  await sql`CREATE INDEX rooms_host_idx ON rooms (host_id)`.execute(db);
  await sql`CREATE INDEX rooms_discovery_idx ON rooms (state, is_private, created_at DESC)`.execute(db);
  await sql`CREATE INDEX rooms_grace_idx ON rooms (grace_ends_at) WHERE state = 'GRACE'`.execute(db);

  await sql`
    CREATE TABLE room_participants (
      room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      status varchar(10) NOT NULL DEFAULT 'APPROVED' CHECK (status IN ('PENDING', 'APPROVED')),
      joined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (room_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX room_participants_user_idx ON room_participants (user_id)`.execute(db);

  await sql`
    CREATE TABLE room_bans (
      room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      banned_by uuid REFERENCES users(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (room_id, user_id)
    )`.execute(db);

  await sql`
    CREATE TABLE chat_messages (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      message text NOT NULL CHECK (length(message) BETWEEN 1 AND 2000),
      created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`.execute(db);
  await sql`CREATE INDEX chat_messages_room_created_idx ON chat_messages (room_id, created_at DESC)`.execute(db);

  await sql`
    CREATE TABLE playback_states (
      room_id uuid PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
      is_playing boolean NOT NULL DEFAULT false,
      position_seconds double precision NOT NULL DEFAULT 0 CHECK (position_seconds >= 0),
      rate double precision NOT NULL DEFAULT 1 CHECK (rate > 0 AND rate <= 16),
      version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`.execute(db);

  // NULLS NOT DISTINCT (PostgreSQL 15+): a movie's NULL season/episode still identifies one row.
  await sql`
    CREATE TABLE watch_progress (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      media_id varchar(255) NOT NULL CHECK (length(media_id) > 0),
      media_type varchar(10) NOT NULL CHECK (media_type IN ('movie', 'tv')),
      season integer CHECK (season >= 0),
      episode integer CHECK (episode >= 0),
      timestamp_seconds double precision NOT NULL DEFAULT 0 CHECK (timestamp_seconds >= 0),
      duration_seconds double precision NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
      progress_percent double precision NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
      completed boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT watch_progress_identity UNIQUE NULLS NOT DISTINCT
        (user_id, room_id, media_id, media_type, season, episode)
    )`.execute(db);
  await sql`CREATE INDEX watch_progress_resume_idx ON watch_progress (user_id, room_id, updated_at DESC)`.execute(db);

  await sql`
    CREATE TABLE room_events (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      actor_id uuid REFERENCES users(id) ON DELETE SET NULL,
      event varchar(40) NOT NULL,
      data jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`.execute(db);
  await sql`CREATE INDEX room_events_room_idx ON room_events (room_id, created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    "room_events",
    "watch_progress",
    "playback_states",
    "chat_messages",
    "room_bans",
    "room_participants",
    "rooms",
    "refresh_tokens",
    "auth_sessions",
    "users",
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
