/**
 * Scheduled parties: a room names the moment its playback starts by itself (`party_starts_at`).
 * Whoever may control playback (the host; co-hosts while the room lets them) sets, moves or
 * clears it; every member sees the countdown (PARTY_STARTS_AT). At that moment the room plays,
 * in sync, as a host's PLAY does: the same versioned playback UPDATE, anchored at the party time
 * itself (the start fires a start lead early), published as `room.playback_changed` so that
 * every instance sends it (held for legacy clients until then).
 *
 * Exactly once: the start claims the party with one conditional UPDATE that clears the column
 * only while it still names that time (and the time is due), in the transaction that plays, so
 * a job run twice, on two workers, late, or after the party moved starts nothing twice. A room
 * without media at that moment does not start: the party is cleared (`no_media`) and members told.
 */
import { sql } from "kysely";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import { errors } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { ACTIVE_STATES, assertJoinable } from "../lifecycle/transitions.js";
import { PlaybackService } from "../playback/service.js";
import { currentPosition, type PlaybackSnapshot } from "../playback/snapshot.js";
import { may } from "../rooms/authority.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import type { PartyScheduler } from "./scheduler.js";

export interface PartyOptions {
  /** How far ahead a party may be set (days). */
  maxDaysAhead: number;
  /** The start fires this long before the party time, so that every viewer has it in time (ms). */
  leadMs: number;
  /** A start that fires late still gets this much lead (ms). */
  lateLeadMs: number;
}

/** A firing this much earlier than its lead still counts as due (clocks of two machines). */
const EARLY_SLACK_MS = 1000;
const DENIED = "Only host can schedule the party";

export type PartyOutcome = "started" | "no_media";

export class PartyService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly scheduler: PartyScheduler,
    private readonly options: PartyOptions,
  ) {}

  /** A party time must be in the future and within the limit: VALIDATION_FAILED otherwise. */
  check(startsAt: Date, now = Date.now()): void {
    if (Number.isNaN(startsAt.getTime())) throw errors.validation("starts_at must be an ISO 8601 time");
    if (startsAt.getTime() <= now) throw errors.validation("starts_at must be in the future");
    if (startsAt.getTime() > now + this.options.maxDaysAhead * 86_400_000)
      throw errors.validation(`starts_at must be at most ${this.options.maxDaysAhead} days ahead`);
  }

  /**
   * Sets (or moves) the room's party time, or clears it (null). Judged in the transaction by the
   * roles in force (PERMISSION_DENIED); an expired or deleted room is refused (410). Recorded as
   * `party.scheduled` {starts_at, previous} or `party.cleared` {previous, reason: "cleared"};
   * everyone gets PARTY_STARTS_AT. Setting what is already set changes nothing.
   */
  async set(
    user: Pick<AuthUser, "id">,
    roomId: string,
    startsAt: Date | null,
  ): Promise<{ room_id: string; party_starts_at: string | null }> {
    if (startsAt) this.check(startsAt);
    const change = await this.db.transaction().execute(async (trx) => {
      const room = await trx
        .selectFrom("rooms")
        .select(["id", "code", "state", "party_starts_at"])
        .where("id", "=", roomId)
        .forUpdate()
        .executeTakeFirst();
      if (!room) throw errors.roomNotFound();
      if (!(await may(trx, "playback", roomId, user.id))) throw errors.forbidden(DENIED);
      assertJoinable(room);
      const previous = room.party_starts_at;
      if ((previous?.getTime() ?? null) === (startsAt?.getTime() ?? null)) return { code: room.code, previous, changed: false };
      await trx.updateTable("rooms").set({ party_starts_at: startsAt, updated_at: sql`now()` }).where("id", "=", roomId).execute();
      const prior = previous?.toISOString() ?? null;
      if (startsAt) await recordRoomEvent(trx, roomId, user.id, "party.scheduled", { starts_at: startsAt.toISOString(), previous: prior });
      else await recordRoomEvent(trx, roomId, user.id, "party.cleared", { previous: prior, reason: "cleared" });
      return { code: room.code, previous, changed: true };
    });
    if (change.changed) {
      if (change.previous) await this.scheduler.cancel(roomId, change.previous);
      if (startsAt) await this.schedule(roomId, startsAt);
      this.events.publish({
        type: "room.party_changed",
        roomId,
        code: change.code,
        startsAt: startsAt?.toISOString() ?? null,
        reason: startsAt ? "scheduled" : "cleared",
      });
    }
    return { room_id: roomId, party_starts_at: startsAt?.toISOString() ?? null };
  }

  /**
   * The party time `startsAt` has come (a timer, a job, the sweep): claims it and plays the
   * room, once. Undefined when there was nothing to do (already started, moved, cleared, not
   * due yet, the room gone).
   */
  async start(roomId: string, startsAt: Date): Promise<PartyOutcome | undefined> {
    const { lateLeadMs } = this.options;
    const due = (this.options.leadMs + EARLY_SLACK_MS) / 1000;
    const result = await this.db.transaction().execute(async (trx) => {
      // The claim: only while the room still has this party time, and it is due.
      const claimed = await trx
        .updateTable("rooms")
        .set({ party_starts_at: null, updated_at: sql`now()` })
        .where("id", "=", roomId)
        .where("party_starts_at", "=", startsAt)
        .where("party_starts_at", "<=", sql<Date>`clock_timestamp() + make_interval(secs => ${due}::float8)`)
        .where("state", "in", ACTIVE_STATES)
        .returning(["code", "video_id"])
        .executeTakeFirst();
      if (!claimed) return undefined;
      const at = startsAt.toISOString();
      if (claimed.video_id === "") {
        await recordRoomEvent(trx, roomId, null, "party.cleared", { previous: at, reason: "no_media" });
        return { code: claimed.code, outcome: "no_media" as const, playback: undefined };
      }
      // The host's PLAY, by the system, from where the play head is, anchored at the party time.
      const playback = new PlaybackService(trx);
      const time = currentPosition(await playback.load(roomId));
      const started = await playback.apply(roomId, "PLAY", time, { actorId: null, leadMs: lateLeadMs, startAt: startsAt });
      await recordRoomEvent(trx, roomId, null, "party.started", {
        starts_at: at,
        at: new Date(started!.server_time).toISOString(),
        time,
        version: started!.version,
      });
      return { code: claimed.code, outcome: "started" as const, playback: started };
    });
    if (!result) return undefined;
    const room = { roomId, code: result.code };
    if (result.playback) this.events.publish({ type: "room.playback_changed", ...room, playback: result.playback as PlaybackSnapshot });
    this.events.publish({ type: "room.party_changed", ...room, startsAt: null, reason: result.outcome });
    return result.outcome;
  }

  /** A process starting: every pending party is scheduled again (a job already there is kept). */
  async recover(): Promise<number> {
    const pending = await this.pending().execute();
    for (const room of pending) await this.schedule(room.id, room.party_starts_at!);
    return pending.length;
  }

  /** Starts every party whose time has passed (a lost job or timer); the number started. */
  async sweep(): Promise<number> {
    const due = await this.pending().where("party_starts_at", "<=", sql<Date>`now()`).execute();
    let started = 0;
    for (const room of due) if (await this.start(room.id, room.party_starts_at!)) started += 1;
    return started;
  }

  private pending() {
    return this.db
      .selectFrom("rooms")
      .select(["id", "party_starts_at"])
      .where("party_starts_at", "is not", null)
      .where("state", "in", ACTIVE_STATES);
  }

  private schedule(roomId: string, startsAt: Date): void | Promise<void> {
    return this.scheduler.schedule(roomId, startsAt, new Date(startsAt.getTime() - this.options.leadMs));
  }
}
