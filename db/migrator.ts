/**
 * Migrations are listed here (a static map) rather than discovered on disk, so they load the
 * same way under tsx, vitest and the compiled build.
 */
import { type Kysely, type Migration, type MigrationResultSet, Migrator } from "kysely";
import * as initial from "./migrations/0001_initial.js";
import * as chatSequence from "./migrations/0002_chat_sequence.js";
import * as chatSlowMode from "./migrations/0003_chat_slow_mode.js";
import * as roomMutes from "./migrations/0004_room_mutes.js";
import * as expiredRoomsIdx from "./migrations/0005_expired_rooms_idx.js";
import * as roomTimeline from "./migrations/0006_room_timeline.js";
import * as cohosts from "./migrations/0007_cohosts.js";
import * as roomInvites from "./migrations/0008_room_invites.js";
import * as queue from "./migrations/0009_queue.js";
import * as persistentRooms from "./migrations/0010_persistent_rooms.js";
import * as scheduledParty from "./migrations/0011_scheduled_party.js";
import * as bufferingPolicy from "./migrations/0012_buffering_policy.js";

const migrations: Record<string, Migration> = {
  "0001_initial": initial,
  "0002_chat_sequence": chatSequence,
  "0003_chat_slow_mode": chatSlowMode,
  "0004_room_mutes": roomMutes,
  "0005_expired_rooms_idx": expiredRoomsIdx,
  "0006_room_timeline": roomTimeline,
  "0007_cohosts": cohosts,
  "0008_room_invites": roomInvites,
  "0009_queue": queue,
  "0010_persistent_rooms": persistentRooms,
  "0011_scheduled_party": scheduledParty,
  "0012_buffering_policy": bufferingPolicy,
};

/** `schema`: where the migration bookkeeping lives when the app runs in a non-default schema. */
export function createMigrator(db: Kysely<any>, schema?: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/** Brings the schema to the latest version; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<MigrationResultSet> {
  const result = await createMigrator(db, schema).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`Migration ${failed} failed: ${String((result.error as Error).message ?? result.error)}`, {
      cause: result.error,
    });
  }
  return result;
}
