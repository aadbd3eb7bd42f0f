/**
 * Playback state: `{is_playing, time, rate, version}` anchored at `server_time`. Clients and
 * the server extrapolate the position; commands bump the version in one atomic UPDATE, which
 * also judges whether the sender may control playback (rooms/authority.ts).
 */
import { sql } from "kysely";
import type { DB } from "../db.js";
import { errors } from "../errors.js";
import { may, mayAct } from "../rooms/authority.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { currentPosition, type PlaybackSnapshot, toPlaybackSnapshot } from "./snapshot.js";

export type PlaybackCommand = "PLAY" | "PAUSE" | "SEEK";

type PlaybackRow = Parameters<typeof toPlaybackSnapshot>[0];
type Nullable<T> = { [K in keyof T]: T[K] | null };

/** The refusal of a playback command by someone who may not control playback. */
const PLAYBACK_DENIED = "Only host can control playback";

export interface ApplyOptions {
  /** Who sent the command (the timeline's actor, judged by mayAct); null: the system, not judged. */
  actorId: string | null;
  /** Apply only if the state is still at this version (else undefined: STALE_VERSION). */
  expectedVersion?: number | undefined;
}

export class PlaybackService {
  constructor(private readonly db: DB) {}

  async load(roomId: string): Promise<PlaybackSnapshot> {
    const row = await this.db
      .insertInto("playback_states")
      .values({ room_id: roomId })
      .onConflict((oc) => oc.column("room_id").doUpdateSet({ room_id: roomId }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toPlaybackSnapshot(row);
  }

  /**
   * PLAY and PAUSE set the play state; SEEK keeps it. One statement, so the version cannot race
   * and a command costs one round trip: it judges the actor (`mayAct("playback")`, by the roles
   * the database has now), locks the row only when they may act, bumps the version (with
   * `expectedVersion`, only if the state is still at that version; undefined otherwise, and the
   * caller answers STALE_VERSION) and writes the timeline row (`playback.play`, `.pause`,
   * `.seek` with `{from, to, version}`; `from` is where the play head was when the command
   * replaced it, by the locked row). An actor who may not control playback gets
   * PERMISSION_DENIED (told apart from a stale version by the same statement). A null actor is
   * the system: not judged.
   */
  async apply(roomId: string, command: PlaybackCommand, time: number, options: ApplyOptions): Promise<PlaybackSnapshot | undefined> {
    const { actorId, expectedVersion } = options;
    const isPlaying = command === "SEEK" ? sql`p.is_playing` : sql`${command === "PLAY"}`;
    const onlyAt = expectedVersion === undefined ? sql`` : sql`AND p.version = ${expectedVersion}`;
    const allowed = actorId === null ? sql<boolean>`TRUE` : mayAct("playback", roomId, actorId);
    const { rows } = await sql<Nullable<PlaybackRow> & { allowed: boolean }>`
      WITH auth AS MATERIALIZED (
        SELECT ${allowed} AS allowed
      ), prev AS (
        SELECT is_playing, position_seconds, rate, updated_at FROM playback_states
        WHERE room_id = ${roomId} AND (SELECT allowed FROM auth) FOR UPDATE
      ), next AS (
        UPDATE playback_states p
        SET is_playing = ${isPlaying}, position_seconds = ${time}, version = p.version + 1, updated_at = clock_timestamp()
        FROM prev
        WHERE p.room_id = ${roomId} ${onlyAt}
        RETURNING p.is_playing, p.position_seconds, p.rate, p.version, p.updated_at,
          CASE WHEN prev.is_playing
            THEN prev.position_seconds + GREATEST(0, EXTRACT(EPOCH FROM p.updated_at - prev.updated_at)::float8) * prev.rate
            ELSE prev.position_seconds END AS replaced
      ), logged AS (
        INSERT INTO room_events (room_id, actor_id, event, data)
        SELECT ${roomId}::uuid, ${actorId}::uuid, ${`playback.${command.toLowerCase()}`}::text,
          jsonb_build_object('from', replaced, 'to', ${time}::float8, 'version', version)
        FROM next
      )
      SELECT auth.allowed, next.is_playing, next.position_seconds, next.rate, next.version, next.updated_at
      FROM auth LEFT JOIN next ON TRUE`.execute(this.db);
    const row = rows[0];
    if (!row?.allowed) throw errors.forbidden(PLAYBACK_DENIED);
    if (row.version !== null) return toPlaybackSnapshot(row as PlaybackRow);
    if (expectedVersion === undefined) throw new Error(`no playback state for room ${roomId}`);
    return undefined;
  }

  /**
   * UNDO_SEEK: back to where the room's latest seek not yet undone started (`from`), play state
   * kept; recorded as `playback.seek_undone` naming the seek (`undone_seq`), so the next undo
   * takes the seek before it. Seeks made before the last source change are not undone (another
   * video). Undefined when there is nothing to undo. The playback row lock serialises undos with
   * every other command, and a unique index undoes each seek at most once.
   */
  async undoSeek(roomId: string, actorId: string | null): Promise<PlaybackSnapshot | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const before = await lockState(trx, roomId);
      // Judged after the lock, by the roles committed by then (a null actor is the system).
      if (actorId !== null && !(await may(trx, "playback", roomId, actorId))) throw errors.forbidden(PLAYBACK_DENIED);
      if (!before) return undefined;
      const seek = await trx
        .selectFrom("room_events as e")
        .select(["e.seq", "e.data"])
        .where("e.room_id", "=", roomId)
        .where("e.event", "=", "playback.seek")
        .where((eb) =>
          eb(
            "e.seq",
            ">",
            eb.fn.coalesce(
              eb
                .selectFrom("room_events as s")
                .select((s) => s.fn.max("s.seq").as("seq"))
                .where("s.room_id", "=", roomId)
                .where("s.event", "=", "room.source_changed"),
              sql.lit(0),
            ),
          ),
        )
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("room_events as u")
                .select("u.seq")
                .where("u.room_id", "=", roomId)
                .where("u.event", "=", "playback.seek_undone")
                .where(sql<boolean>`u.data->>'undone_seq' = e.seq::text`),
            ),
          ),
        )
        .orderBy("e.seq", "desc")
        .limit(1)
        .executeTakeFirst();
      const target = Number(seek?.data.from);
      if (!seek || !Number.isFinite(target)) return undefined;
      const row = await trx
        .updateTable("playback_states")
        .set({ position_seconds: Math.max(0, target), version: sql`version + 1`, updated_at: sql`clock_timestamp()` })
        .where("room_id", "=", roomId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const from = currentPosition(toPlaybackSnapshot(before), row.updated_at.getTime());
      await recordRoomEvent(trx, roomId, actorId, "playback.seek_undone", {
        from,
        to: row.position_seconds,
        version: row.version,
        undone_seq: Number(seek.seq),
      });
      return toPlaybackSnapshot(row);
    });
  }
}

/** Reads and locks a room's playback row for the rest of the transaction. */
function lockState(trx: DB, roomId: string) {
  return trx.selectFrom("playback_states").selectAll().where("room_id", "=", roomId).forUpdate().executeTakeFirst();
}
