/** Per-user watch progress, keyed by (user, room, media id, media type, season, episode). */
import { sql } from "kysely";
import type { MediaType, WatchProgress } from "../../db/schema.js";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import { errors } from "../errors.js";
import { findRoomByCode } from "../rooms/codes.js";
import { requireMember } from "../rooms/service.js";

export interface MediaIdentity {
  media_id: string;
  media_type: MediaType;
  season: number | null;
  episode: number | null;
}

export interface ProgressValues {
  timestamp: number;
  duration: number;
  progress_percent: number;
  completed: boolean;
}

/** The original serializer's shape (floats, `room` as the uuid, `updated_at` in ISO with Z). */
export const serializeProgress = (row: WatchProgress) => ({
  room: row.room_id,
  media_id: row.media_id,
  media_type: row.media_type,
  season: row.season,
  episode: row.episode,
  timestamp: row.timestamp_seconds,
  duration: row.duration_seconds,
  progress_percent: row.progress_percent,
  completed: row.completed,
  updated_at: row.updated_at.toISOString(),
});

/** Upserts one progress row atomically (the identity is a NULLS NOT DISTINCT unique key). */
export async function upsertProgress(
  db: DB,
  userId: string,
  roomId: string,
  media: MediaIdentity,
  values: ProgressValues,
): Promise<WatchProgress> {
  const columns = {
    timestamp_seconds: values.timestamp,
    duration_seconds: values.duration,
    progress_percent: values.progress_percent,
    completed: values.completed,
  };
  return db
    .insertInto("watch_progress")
    .values({ user_id: userId, room_id: roomId, ...media, ...columns })
    .onConflict((oc) => oc.constraint("watch_progress_identity").doUpdateSet({ ...columns, updated_at: sql`clock_timestamp()` }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export class ProgressService {
  constructor(private readonly db: DB) {}

  /** The host player's progress for the room's media (PLAYER_EVENT): the host is trusted here. */
  recordPlayer(userId: string, roomId: string, media: MediaIdentity, values: ProgressValues): Promise<WatchProgress> {
    return upsertProgress(this.db, userId, roomId, media, values);
  }

  async save(user: AuthUser, roomId: string, media: MediaIdentity, values: ProgressValues) {
    await this.requireMember(user, roomId);
    return serializeProgress(await upsertProgress(this.db, user.id, roomId, media, values));
  }

  /** Exact episode when season/episode are given; otherwise the latest row for that media. */
  async get(user: AuthUser, roomId: string, media: Omit<MediaIdentity, "season" | "episode"> & Partial<MediaIdentity>) {
    await this.requireMember(user, roomId);
    const row = await this.db
      .selectFrom("watch_progress")
      .selectAll()
      .where("user_id", "=", user.id)
      .where("room_id", "=", roomId)
      .where("media_id", "=", media.media_id)
      .where("media_type", "=", media.media_type)
      .$if(media.season != null, (qb) => qb.where("season", "=", media.season!))
      .$if(media.episode != null, (qb) => qb.where("episode", "=", media.episode!))
      .orderBy("updated_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? serializeProgress(row) : { progress: null };
  }

  /** The caller's most recent progress in a room, whatever the media (the original's resume). */
  async resume(user: AuthUser, roomCode: string) {
    const room = await findRoomByCode(this.db, roomCode);
    if (!room) throw errors.roomNotFound();
    const row = await this.db
      .selectFrom("watch_progress")
      .selectAll()
      .where("user_id", "=", user.id)
      .where("room_id", "=", room.id)
      .orderBy("updated_at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (!row) return { progress_percent: 0, last_position_seconds: 0, completed: false };
    return {
      progress_percent: row.progress_percent,
      last_position_seconds: row.timestamp_seconds,
      completed: row.completed,
      media_id: row.media_id,
      media_type: row.media_type,
      season: row.season,
      episode: row.episode,
    };
  }

  private requireMember(user: AuthUser, roomId: string): Promise<void> {
    return requireMember(this.db, user, roomId);
  }
}
