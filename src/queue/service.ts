/**
 * A room's queue: media items that play one after another. Host and co-hosts (when the room lets
 * co-hosts control playback) add, remove, reorder and skip; every change locks the room row,
 * judges the actor by the roles in force, checks `expected_version`, bumps `queue_version` and
 * writes the timeline in one transaction, so two hosts editing at once cannot corrupt it.
 * Advancing (NEXT, the host's player ended, the known duration ran out, a vote passed) moves the
 * head item into the room's media and starts it from 0 at a scheduled moment, keeping the play
 * state; it names the item it advances from, so the triggers that race (every instance's timer,
 * the host's player, the votes) move the room once. Transport-free: it publishes room events.
 */
import { QUEUE_MAX_ITEMS, type ServerMessageOf } from "@streamit/protocol";
import { sql } from "kysely";
import type { MediaType } from "../../db/schema.js";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import { AppError, errors } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { assertJoinable } from "../lifecycle/transitions.js";
import { toPlaybackSnapshot } from "../playback/snapshot.js";
import type { ProviderRegistry } from "../providers/registry.js";
import { may } from "../rooms/authority.js";
import { mediaSourceOf, requireHostOf, requireMember } from "../rooms/service.js";
import { recordRoomEvent } from "../timeline/timeline.js";

export type QueueSnapshot = Omit<ServerMessageOf<"QUEUE_UPDATED">, "type">;
export type QueueItemView = QueueSnapshot["items"][number];

export interface QueueItemInput {
  provider: string;
  video_id: string;
  media_type?: MediaType | undefined;
  season?: number | null | undefined;
  episode?: number | null | undefined;
  title?: string | null | undefined;
  duration?: number | null | undefined;
}

/** Why the room moved to its next item (the timeline says). */
export type AdvanceReason = "next" | "ended" | "duration" | "vote";

export interface AdvanceOptions {
  reason: AdvanceReason;
  /** Only if what plays now is still this item (a trigger about an item already left is void). */
  fromItemId?: string | null | undefined;
  expectedVersion?: number | undefined;
  /** How far ahead the new item starts (ms), so that every viewer starts it together. */
  leadMs: number;
}

const QUEUE_DENIED = "Only the host (and co-hosts, when the room lets them control playback) can change the queue";

export class QueueService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly providers: ProviderRegistry,
  ) {}

  /** The queue as members see it. */
  async snapshot(roomId: string, db: DB = this.db): Promise<QueueSnapshot> {
    const [room, rows] = await Promise.all([
      db.selectFrom("rooms").select("queue_version").where("id", "=", roomId).executeTakeFirst(),
      db.selectFrom("room_queue_items").selectAll().where("room_id", "=", roomId).orderBy("position").execute(),
    ]);
    if (!room) throw errors.roomNotFound();
    return {
      version: room.queue_version,
      items: rows.map((row) => ({
        id: row.id,
        provider: row.provider,
        video_id: row.video_id,
        media_type: row.media_type,
        season: row.season,
        episode: row.episode,
        title: row.title,
        duration: row.duration_seconds,
        added_by: row.added_by,
        embed_url: this.embedUrl(row),
      })),
    };
  }

  /**
   * Appends an item (QUEUE_FULL past QUEUE_MAX_ITEMS); the provider checks it as a source (and
   * gives its stored form). A title or duration the adder left out comes from the provider's
   * metadata where it has some (best-effort, looked up before the room is locked).
   */
  async add(roomId: string, actorId: string, input: QueueItemInput, expectedVersion?: number): Promise<QueueSnapshot> {
    const provider = this.providers.get(input.provider);
    const mediaType = input.media_type ?? "movie";
    const source = provider.validateSource({
      provider: provider.name,
      media_type: mediaType,
      external_id: input.video_id,
      season: mediaType === "movie" ? null : (input.season ?? null),
      episode: mediaType === "movie" ? null : (input.episode ?? null),
    });
    const known = input.title == null || input.duration == null ? await this.providers.metadata(source) : null;
    const title = input.title ?? known?.title ?? null;
    const duration = input.duration ?? known?.duration ?? null;
    return this.edit(roomId, actorId, expectedVersion, async (trx, count) => {
      if (count >= QUEUE_MAX_ITEMS) throw new AppError("QUEUE_FULL", `The queue holds at most ${QUEUE_MAX_ITEMS} items`);
      const item = await trx
        .insertInto("room_queue_items")
        .values({
          room_id: roomId,
          position: count,
          provider: source.provider,
          video_id: source.external_id,
          media_type: source.media_type,
          season: source.season,
          episode: source.episode,
          title,
          duration_seconds: duration,
          added_by: actorId,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      return {
        event: "queue.added",
        data: { item_id: item.id, provider: source.provider, video_id: source.external_id, title },
      };
    });
  }

  remove(roomId: string, actorId: string, itemId: string, expectedVersion?: number): Promise<QueueSnapshot> {
    return this.edit(roomId, actorId, expectedVersion, async (trx) => {
      const removed = await trx
        .deleteFrom("room_queue_items")
        .where("room_id", "=", roomId)
        .where("id", "=", itemId)
        .returning("position")
        .executeTakeFirst();
      if (!removed) throw new AppError("NOT_FOUND", "No such item in this room's queue");
      await trx
        .updateTable("room_queue_items")
        .set((eb) => ({ position: eb("position", "-", 1) }))
        .where("room_id", "=", roomId)
        .where("position", ">", removed.position)
        .execute();
      return { event: "queue.removed", data: { item_id: itemId } };
    });
  }

  /** Moves an item to position `to` (clamped to the last). */
  move(roomId: string, actorId: string, itemId: string, to: number, expectedVersion?: number): Promise<QueueSnapshot> {
    return this.edit(roomId, actorId, expectedVersion, async (trx, count) => {
      const item = await trx
        .selectFrom("room_queue_items")
        .select("position")
        .where("room_id", "=", roomId)
        .where("id", "=", itemId)
        .executeTakeFirst();
      if (!item) throw new AppError("NOT_FOUND", "No such item in this room's queue");
      const from = item.position;
      const target = Math.min(to, count - 1);
      if (target !== from) {
        // The items between shift by one towards the gap (positions stay unique at commit: deferred).
        const [lo, hi, shift] = from < target ? [from + 1, target, -1] : [target, from - 1, 1];
        await trx
          .updateTable("room_queue_items")
          .set((eb) => ({ position: eb("position", "+", shift) }))
          .where("room_id", "=", roomId)
          .where("position", ">=", lo)
          .where("position", "<=", hi)
          .execute();
        await trx.updateTable("room_queue_items").set({ position: target }).where("id", "=", itemId).execute();
      }
      return { event: "queue.moved", data: { item_id: itemId, from, to: target } };
    });
  }

  /**
   * The head item plays now. `actorId` null: the system (the player ended, the duration ran out,
   * a vote passed), not judged. Undefined when there was nothing to do: the queue is empty
   * (QUEUE_EMPTY for a person's NEXT), or the room already left `fromItemId`.
   */
  async advance(roomId: string, actorId: string | null, options: AdvanceOptions): Promise<QueueSnapshot | undefined> {
    const done = await this.db.transaction().execute(async (trx) => {
      const room = await this.lockRoom(trx, roomId, actorId, options.expectedVersion);
      if (options.fromItemId !== undefined && room.media_item_id !== options.fromItemId) return undefined;
      const head = await trx
        .deleteFrom("room_queue_items")
        .where("room_id", "=", roomId)
        .where("position", "=", 0)
        .returningAll()
        .executeTakeFirst();
      if (!head) {
        if (actorId !== null) throw new AppError("QUEUE_EMPTY", "The queue is empty");
        return undefined;
      }
      await trx
        .updateTable("room_queue_items")
        .set((eb) => ({ position: eb("position", "-", 1) }))
        .where("room_id", "=", roomId)
        .execute();
      const updated = await trx
        .updateTable("rooms")
        .set((eb) => ({
          video_provider: head.provider,
          video_id: head.video_id,
          media_type: head.media_type,
          season: head.season,
          episode: head.episode,
          media_item_id: head.id,
          media_title: head.title,
          media_duration_seconds: head.duration_seconds,
          queue_version: eb("queue_version", "+", 1),
          updated_at: sql`now()`,
        }))
        .where("id", "=", roomId)
        .returningAll()
        .executeTakeFirstOrThrow();
      // From 0, play state kept; a playing room starts the new item at a moment a little ahead.
      const state = await trx
        .updateTable("playback_states")
        .set({
          position_seconds: 0,
          rate: 1,
          version: sql`version + 1`,
          updated_at: sql`clock_timestamp() + make_interval(secs => CASE WHEN is_playing THEN ${options.leadMs / 1000}::float8 ELSE 0 END)`,
        })
        .where("room_id", "=", roomId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordRoomEvent(trx, roomId, actorId, "queue.advanced", {
        item_id: head.id,
        from_item_id: room.media_item_id,
        reason: options.reason,
        provider: head.provider,
        video_id: head.video_id,
        version: state.version,
      });
      return { updated, playback: toPlaybackSnapshot(state), queue: await this.snapshot(roomId, trx) };
    });
    if (!done) return undefined;
    const { updated, playback, queue } = done;
    this.events.publish({
      type: "room.source_changed",
      roomId,
      code: updated.code,
      source: mediaSourceOf(this.providers, updated),
      playback,
    });
    this.announce(roomId, updated.code, queue);
    return queue;
  }

  /** REST: the queue for an approved member, with the room's skip threshold. */
  async forMember(user: AuthUser, roomId: string): Promise<QueueSnapshot & { room_id: string; skip_threshold_percent: number }> {
    await requireMember(this.db, user, roomId);
    const [queue, threshold] = await Promise.all([this.snapshot(roomId), this.skipThreshold(roomId)]);
    return { room_id: roomId, ...queue, skip_threshold_percent: threshold };
  }

  /** REST, the host: the share (%) of online members whose skip votes pass. */
  async setSkipThreshold(user: AuthUser, roomId: string, percent: number): Promise<{ room_id: string; skip_threshold_percent: number }> {
    const room = await requireHostOf(this.db, user, roomId, "Only host can change the queue settings");
    assertJoinable(room);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("rooms").set({ skip_threshold_percent: percent, updated_at: sql`now()` }).where("id", "=", roomId).execute();
      await recordRoomEvent(trx, roomId, user.id, "queue.settings_changed", {
        from: room.skip_threshold_percent,
        skip_threshold_percent: percent,
      });
    });
    return { room_id: roomId, skip_threshold_percent: percent };
  }

  /** The share (%) of online members whose skip votes pass. */
  async skipThreshold(roomId: string): Promise<number> {
    const row = await this.db.selectFrom("rooms").select("skip_threshold_percent").where("id", "=", roomId).executeTakeFirst();
    if (!row) throw errors.roomNotFound();
    return row.skip_threshold_percent;
  }

  /** One edit: lock, judge, check the version, change, bump, record; then everyone sees the queue. */
  private async edit(
    roomId: string,
    actorId: string,
    expectedVersion: number | undefined,
    change: (trx: DB, count: number) => Promise<{ event: string; data: Record<string, unknown> }>,
  ): Promise<QueueSnapshot> {
    const { code, queue } = await this.db.transaction().execute(async (trx) => {
      const room = await this.lockRoom(trx, roomId, actorId, expectedVersion);
      const { n } = await trx
        .selectFrom("room_queue_items")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("room_id", "=", roomId)
        .executeTakeFirstOrThrow();
      const { event, data } = await change(trx, Number(n));
      const bumped = await trx
        .updateTable("rooms")
        .set((eb) => ({ queue_version: eb("queue_version", "+", 1) }))
        .where("id", "=", roomId)
        .returning("queue_version")
        .executeTakeFirstOrThrow();
      await recordRoomEvent(trx, roomId, actorId, event, { ...data, version: bumped.queue_version });
      return { code: room.code, queue: await this.snapshot(roomId, trx) };
    });
    this.announce(roomId, code, queue);
    return queue;
  }

  /** The room row, locked: every queue change of a room runs one at a time. */
  private async lockRoom(trx: DB, roomId: string, actorId: string | null, expectedVersion: number | undefined) {
    const room = await trx
      .selectFrom("rooms")
      .select(["id", "code", "state", "queue_version", "media_item_id"])
      .where("id", "=", roomId)
      .forUpdate()
      .executeTakeFirst();
    if (!room) throw errors.roomNotFound();
    assertJoinable(room);
    // Judged after the lock, by the roles committed by then.
    if (actorId !== null && !(await may(trx, "playback", roomId, actorId))) throw errors.forbidden(QUEUE_DENIED);
    if (expectedVersion !== undefined && expectedVersion !== room.queue_version)
      throw new AppError("STALE_VERSION", `The queue is at version ${room.queue_version}, not ${expectedVersion}`);
    return room;
  }

  private announce(roomId: string, code: string, queue: QueueSnapshot): void {
    this.events.publish({
      type: "room.broadcast",
      roomId,
      code,
      message: { type: "QUEUE_UPDATED", ...queue },
      logKey: `queue:${queue.version}`,
    });
  }

  private embedUrl(row: { provider: string; video_id: string; media_type: MediaType; season: number | null; episode: number | null }) {
    return this.providers.get(row.provider).embedUrl({
      provider: row.provider,
      media_type: row.media_type,
      external_id: row.video_id,
      season: row.season,
      episode: row.episode,
    });
  }
}
