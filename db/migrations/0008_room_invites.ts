/**
 * Invite links: a host hands out a token that admits to a password or approval room without the
 * password or the approval, until it expires, runs out of uses or is revoked. Only the token's
 * hash is stored (the token is shown once, like a room password). `uses` is counted atomically
 * by the join that spends it, never past `max_uses`.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE room_invites (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    room_id uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    max_uses integer NOT NULL CONSTRAINT room_invites_max_uses_check CHECK (max_uses BETWEEN 1 AND 1000),
    uses integer NOT NULL DEFAULT 0 CONSTRAINT room_invites_uses_check CHECK (uses BETWEEN 0 AND max_uses),
    revoked_at timestamptz
  )`.execute(db);
  await sql`CREATE INDEX room_invites_room_idx ON room_invites (room_id, created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE room_invites`.execute(db);
}
