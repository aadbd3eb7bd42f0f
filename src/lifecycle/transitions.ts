/**
 * The room state machine. Each transition is one conditional UPDATE, so concurrent callers
 * (two tabs, two instances, a job that runs twice) cannot apply it twice or from a wrong state.
 *
 *   CREATED → LIVE → GRACE → EXPIRED        GRACE → LIVE (host returns)
 *                    GRACE → RESTING        a persistent room, instead of EXPIRED
 *                  RESTING → LIVE           the host (or a successor by policy) returns
 *                  RESTING → EXPIRED        staff only
 *   CREATED | LIVE | GRACE | RESTING → DELETED       EXPIRED and DELETED are terminal
 */
import { sql } from "kysely";
import type { Room, RoomState } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError } from "../errors.js";

const SOURCES: Record<RoomState, readonly RoomState[]> = {
  CREATED: [],
  LIVE: ["CREATED", "GRACE", "RESTING"],
  GRACE: ["LIVE"],
  RESTING: ["GRACE"],
  EXPIRED: ["GRACE", "RESTING"],
  DELETED: ["CREATED", "LIVE", "GRACE", "RESTING"],
};

/** States of a room that is still there: it may be joined, edited and deleted. */
export const ACTIVE_STATES: readonly RoomState[] = ["CREATED", "LIVE", "GRACE", "RESTING"];
export const isActiveState = (state: RoomState): boolean => ACTIVE_STATES.includes(state);

/** An expired or deleted room takes no more changes (410 ROOM_EXPIRED / ROOM_INACTIVE). */
export function assertJoinable(room: Pick<Room, "state">): void {
  if (room.state === "EXPIRED") throw new AppError("ROOM_EXPIRED", "Room has expired");
  if (room.state === "DELETED") throw new AppError("ROOM_INACTIVE", "Room is no longer active");
}

export const canTransition = (from: RoomState, to: RoomState): boolean => SOURCES[to].includes(from);

/** Host is present: CREATED, GRACE or RESTING becomes LIVE and any grace deadline is cleared. */
export const markLive = (db: DB, roomId: string): Promise<Room | undefined> =>
  db
    .updateTable("rooms")
    .set({ state: "LIVE", grace_ends_at: null, host_disconnected_at: null, rested_at: null, updated_at: sql`now()` })
    .where("id", "=", roomId)
    .where("state", "in", SOURCES.LIVE)
    .returningAll()
    .executeTakeFirst();

/** The host's last connection closed at `disconnectedAt`: LIVE becomes GRACE with a deadline. */
export const markGrace = (db: DB, roomId: string, graceSeconds: number, disconnectedAt: Date = new Date()): Promise<Room | undefined> =>
  db
    .updateTable("rooms")
    .set({
      state: "GRACE",
      host_disconnected_at: disconnectedAt,
      grace_ends_at: new Date(disconnectedAt.getTime() + graceSeconds * 1000),
      updated_at: sql`now()`,
    })
    .where("id", "=", roomId)
    .where("state", "in", SOURCES.GRACE)
    .returningAll()
    .executeTakeFirst();

/**
 * GRACE becomes EXPIRED, only once the deadline has passed and only for a room that is not
 * persistent (those rest). `force` (staff): GRACE or RESTING, deadline or not, persistent or not.
 * Returns the room when this call made the change, undefined when it did not.
 */
export const markExpired = (db: DB, roomId: string, opts: { force?: boolean } = {}) =>
  db
    .updateTable("rooms")
    .set({ state: "EXPIRED", grace_ends_at: null, rested_at: null, updated_at: sql`now()` })
    .where("id", "=", roomId)
    .$if(!!opts.force, (qb) => qb.where("state", "in", SOURCES.EXPIRED))
    .$if(!opts.force, (qb) =>
      qb.where("state", "=", "GRACE").where("is_persistent", "=", false).where("grace_ends_at", "<=", sql<Date>`now()`),
    )
    .returningAll()
    .executeTakeFirst();

/** A persistent room's grace is over: GRACE becomes RESTING (once; the deadline must have passed). */
export const markResting = (db: DB, roomId: string): Promise<Room | undefined> =>
  db
    .updateTable("rooms")
    .set({ state: "RESTING", grace_ends_at: null, rested_at: sql`now()`, updated_at: sql`now()` })
    .where("id", "=", roomId)
    .where("state", "in", SOURCES.RESTING)
    .where("is_persistent", "=", true)
    .where("grace_ends_at", "<=", sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();

export const markDeleted = (db: DB, roomId: string): Promise<Room | undefined> =>
  db
    .updateTable("rooms")
    .set({ state: "DELETED", grace_ends_at: null, rested_at: null, updated_at: sql`now()` })
    .where("id", "=", roomId)
    .where("state", "in", SOURCES.DELETED)
    .returningAll()
    .executeTakeFirst();

/**
 * Expires every room whose grace has passed, that has no succession policy and is not persistent
 * (those go through RoomLifecycle.expire one by one); returns the rooms this call expired.
 */
export const expireDueRooms = (db: DB): Promise<Pick<Room, "id" | "code">[]> =>
  db
    .updateTable("rooms")
    .set({ state: "EXPIRED", updated_at: sql`now()` })
    .where("state", "=", "GRACE")
    .where("grace_ends_at", "<=", sql<Date>`now()`)
    .where("succession", "=", "EXPIRE")
    .where("is_persistent", "=", false)
    .returning(["id", "code"])
    .execute();
