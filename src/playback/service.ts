/**
 * Playback state: `{is_playing, time, rate, version}` anchored at `server_time`. Clients and
 * the server extrapolate the position; commands bump the version in one atomic UPDATE.
 */
import { sql } from "kysely";
import type { DB } from "../db.js";
import type { PlaybackSnapshot } from "../rooms/events.js";
import { toPlaybackSnapshot } from "../rooms/service.js";

export type PlaybackCommand = "PLAY" | "PAUSE" | "SEEK";

/** The position at `now` (epoch ms): the anchor plus elapsed time × rate while playing. */
export function currentPosition(state: PlaybackSnapshot, now = Date.now()): number {
  if (!state.is_playing) return state.time;
  return state.time + (Math.max(0, now - state.server_time) / 1000) * state.rate;
}

/** The snapshot re-anchored at `now`, as sent to joiners and in corrections. */
export function snapshotAt(state: PlaybackSnapshot, now = Date.now()): PlaybackSnapshot {
  return { ...state, time: currentPosition(state, now), server_time: now };
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
   * PLAY and PAUSE set the play state; SEEK keeps it. One statement: the version cannot race.
   * With `expectedVersion`, applies only if the state is still at that version; returns
   * undefined otherwise (the caller answers STALE_VERSION).
   */
  async apply(roomId: string, command: PlaybackCommand, time: number, expectedVersion?: number): Promise<PlaybackSnapshot | undefined> {
    const isPlaying = command === "SEEK" ? sql<boolean>`playback_states.is_playing` : sql<boolean>`${command === "PLAY"}`;
    const row = await this.db
      .updateTable("playback_states")
      .set({
        is_playing: isPlaying,
        position_seconds: time,
        version: sql`version + 1`,
        updated_at: sql`clock_timestamp()`,
      })
      .where("room_id", "=", roomId)
      .$if(expectedVersion !== undefined, (qb) => qb.where("version", "=", expectedVersion!))
      .returningAll()
      .executeTakeFirst();
    if (row) return toPlaybackSnapshot(row);
    if (expectedVersion === undefined) throw new Error(`no playback state for room ${roomId}`);
    return undefined;
  }
}
