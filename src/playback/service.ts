/**
 * Playback state: `{is_playing, time, rate, version}` anchored at `server_time`. Clients and
 * the server extrapolate the position; commands bump the version in one atomic UPDATE, which
 * also judges whether the sender may control playback (rooms/authority.ts).
 */
import { type RawBuilder, sql } from "kysely";
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
  /** A start (PLAY, SEEK while playing) takes effect this many ms from now (see apply). */
  leadMs?: number | undefined;
  /**
   * A start anchored no earlier than this moment (a scheduled party: everyone starts at the
   * announced time, `leadMs` being then the least lead of a start that fires late).
   */
  startAt?: Date | undefined;
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
   *
   * `leadMs` makes a start (PLAY, or SEEK while playing) a scheduled one: the state is anchored
   * that far in the future (`server_time`), and the position holds at `time` until then, so
   * every viewer starts together (see snapshot.ts). A PAUSE, or a seek while paused, is at once.
   */
  async apply(roomId: string, command: PlaybackCommand, time: number, options: ApplyOptions): Promise<PlaybackSnapshot | undefined> {
    const isPlaying = command === "SEEK" ? sql<boolean>`p.is_playing` : sql<boolean>`${command === "PLAY"}::boolean`;
    const lead = Math.max(0, Math.round(options.leadMs ?? 0));
    const anchor = sql`clock_timestamp() + CASE WHEN ${isPlaying} THEN make_interval(secs => ${lead / 1000}::float8) ELSE interval '0' END`;
    const startAt = options.startAt;
    return this.change(roomId, options, {
      set: sql`is_playing = ${isPlaying}, position_seconds = ${time},
        updated_at = ${startAt ? sql`CASE WHEN ${isPlaying} THEN GREATEST(${anchor}, ${startAt}::timestamptz) ELSE ${anchor} END` : anchor}`,
      event: `playback.${command.toLowerCase()}`,
      data: sql`jsonb_build_object('from', replaced, 'to', ${time}::float8, 'version', version)`,
    });
  }

  /**
   * SET_RATE: the play head is re-anchored where the old rate brings it, and advances at `rate`
   * from there; while playing, `leadMs` schedules the change as apply() does a start (a pending
   * scheduled start keeps its moment). Judged, versioned and recorded as
   * apply() is: `playback.rate` with `{from, to, at, version}` (rates, and the position).
   */
  setRate(roomId: string, rate: number, options: ApplyOptions): Promise<PlaybackSnapshot | undefined> {
    const leadSeconds = Math.max(0, Math.round(options.leadMs ?? 0)) / 1000;
    // Playing and in force: scheduled like a start, anchored where the old rate will have
    // brought the head by then, so that every player changes rate at the same instant.
    const ahead = sql<boolean>`(p.is_playing AND prev.updated_at <= clock_timestamp())`;
    return this.change(roomId, options, {
      set: sql`rate = ${rate},
        position_seconds = CASE WHEN ${ahead} THEN prev.here + ${leadSeconds}::float8 * prev.rate ELSE prev.here END,
        updated_at = CASE WHEN ${ahead} THEN clock_timestamp() + make_interval(secs => ${leadSeconds}::float8)
          ELSE GREATEST(clock_timestamp(), prev.updated_at) END`,
      event: "playback.rate",
      data: sql`jsonb_build_object('from', replaced_rate, 'to', ${rate}::float8, 'at', replaced, 'version', version)`,
    });
  }

  /**
   * The system pauses a playing room where its play head is now (a room coming to rest: nobody
   * hosts it). Undefined when the room was not playing: nothing changes then, not even the version.
   */
  async pauseInPlace(roomId: string): Promise<PlaybackSnapshot | undefined> {
    const now = await this.load(roomId);
    if (!now.is_playing) return undefined;
    return this.change(
      roomId,
      { actorId: null, expectedVersion: now.version },
      {
        set: sql`is_playing = false, position_seconds = prev.here, updated_at = clock_timestamp()`,
        event: "playback.pause",
        data: sql`jsonb_build_object('from', replaced, 'to', replaced, 'version', version, 'system', true)`,
      },
    );
  }

  /** The one statement of apply() and setRate(): judge, lock, update with `set`, record `event`. */
  private async change(
    roomId: string,
    options: ApplyOptions,
    change: { set: RawBuilder<unknown>; event: string; data: RawBuilder<unknown> },
  ): Promise<PlaybackSnapshot | undefined> {
    const { actorId, expectedVersion } = options;
    const onlyAt = expectedVersion === undefined ? sql`` : sql`AND p.version = ${expectedVersion}`;
    const allowed = actorId === null ? sql<boolean>`TRUE` : mayAct("playback", roomId, actorId);
    // prev.here: where the play head is now (a state anchored in the future holds at its time).
    const { rows } = await sql<Nullable<PlaybackRow> & { allowed: boolean }>`
      WITH auth AS MATERIALIZED (
        SELECT ${allowed} AS allowed
      ), prev AS (
        SELECT rate, updated_at,
          CASE WHEN is_playing
            THEN position_seconds + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - updated_at)::float8) * rate
            ELSE position_seconds END AS here
        FROM playback_states
        WHERE room_id = ${roomId} AND (SELECT allowed FROM auth) FOR UPDATE
      ), next AS (
        UPDATE playback_states p
        SET ${change.set}, version = p.version + 1
        FROM prev
        WHERE p.room_id = ${roomId} ${onlyAt}
        RETURNING p.is_playing, p.position_seconds, p.rate, p.version, p.updated_at, prev.here AS replaced, prev.rate AS replaced_rate
      ), logged AS (
        INSERT INTO room_events (room_id, actor_id, event, data)
        SELECT ${roomId}::uuid, ${actorId}::uuid, ${change.event}::text, ${change.data}
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
