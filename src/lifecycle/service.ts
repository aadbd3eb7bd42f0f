/**
 * Room lifecycle steps shared by web processes and the worker: the host is gone (grace),
 * grace is over (expire), and the sweep that catches anything a timer or job missed.
 * Each transition is a conditional UPDATE, so it happens once whoever runs it; an expiry and its
 * audit row commit together, and its announcement is repeated by the sweep if the process that
 * committed it died before telling anyone.
 */
import { sql } from "kysely";
import type { DB } from "../db.js";
import { AppError } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { bannedFrom } from "../moderation/service.js";
import { PlaybackService } from "../playback/service.js";
import type { RealtimeState } from "../state/realtime-state.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import type { GraceScheduler } from "./scheduler.js";
import { expireDueRooms, markExpired, markGrace, markLive, markResting } from "./transitions.js";

export class RoomLifecycle {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly state: RealtimeState,
    private readonly scheduler: GraceScheduler,
    private readonly graceSeconds: number,
    /** How long a host who lost the room to succession may reclaim it. */
    private readonly reclaimSeconds = 600,
  ) {
    this.playback = new PlaybackService(db);
  }

  private readonly playback: PlaybackService;

  /**
   * The host's last connection closed: LIVE → GRACE and schedule the expiry. If the host came
   * back on another instance meanwhile, grace is undone. Returns the deadline, or null.
   */
  async hostGone(roomId: string, hostId: string, meta: Record<string, unknown> = {}): Promise<Date | null> {
    const graced = await markGrace(this.db, roomId, this.graceSeconds);
    if (!graced?.grace_ends_at) return null;
    if ((await this.state.presence.onlineUsers(roomId)).has(hostId)) {
      await markLive(this.db, roomId);
      return null;
    }
    await this.scheduler.schedule(roomId, graced.grace_ends_at);
    await recordRoomEvent(this.db, roomId, hostId, "host.disconnected", { grace_ends_at: graced.grace_ends_at.toISOString(), ...meta });
    return graced.grace_ends_at;
  }

  /**
   * Grace is over: if the room's policy names a successor who is present, they become host;
   * otherwise a persistent room rests and any other expires. Each happens once, whoever calls;
   * every instance is told. `force` (staff): expires a room in grace or at rest, now, with no
   * successor. Returns true when this call expired the room.
   */
  async expire(roomId: string, opts: { force?: boolean } = {}): Promise<boolean> {
    if (!opts.force && (await this.succeed(roomId, "GRACE"))) return false;
    if (!opts.force && (await this.rest(roomId))) return false;
    const expired = await this.db.transaction().execute(async (trx) => {
      const room = await markExpired(trx, roomId, opts);
      if (room) await recordRoomEvent(trx, roomId, null, "room.expired", opts.force ? { forced: true } : {});
      return room;
    });
    if (!expired) return false;
    await this.announceExpired(roomId, expired.code);
    return true;
  }

  /**
   * A persistent room's grace is over and nobody took it: it rests (once, whoever calls). Nobody
   * hosts a resting room, so its playback pauses where it is; members still connected are told
   * (ROOM_RESTING), and chat, queue, settings and bans stay as they are.
   */
  private async rest(roomId: string): Promise<boolean> {
    const rested = await this.db.transaction().execute(async (trx) => {
      const room = await markResting(trx, roomId);
      if (room) await recordRoomEvent(trx, roomId, null, "room.rested");
      return room;
    });
    if (!rested?.rested_at) return false;
    const message = { type: "ROOM_RESTING" as const, rested_at: rested.rested_at.toISOString() };
    this.events.publish({ type: "room.broadcast", roomId, code: rested.code, message, logKey: `rest:${message.rested_at}` });
    const playback = await this.playback.pauseInPlace(roomId);
    if (playback) this.events.publish({ type: "room.playback_changed", roomId, code: rested.code, playback });
    return true;
  }

  /**
   * Someone who is not the host joined a resting room: under a succession policy, a successor
   * who is present now takes it (LIVE, as at the end of grace). Returns true when this call did.
   */
  wake(roomId: string): Promise<boolean> {
    return this.succeed(roomId, "RESTING");
  }

  /**
   * A process starting: expired graces are swept, and every room in grace gets its expiry
   * scheduled again. `hostsGone` (embedded mode, which owns every room): nobody is connected to
   * a fresh process, so the hosts of LIVE rooms are gone and their grace starts now.
   */
  async recover(hostsGone: boolean): Promise<void> {
    await this.sweep();
    if (hostsGone) {
      const live = await this.db.selectFrom("rooms").select("id").where("state", "=", "LIVE").execute();
      for (const { id } of live) await markGrace(this.db, id, this.graceSeconds);
    }
    const graced = await this.db.selectFrom("rooms").select(["id", "grace_ends_at"]).where("state", "=", "GRACE").execute();
    for (const room of graced) await this.scheduler.schedule(room.id, room.grace_ends_at!);
  }

  /**
   * Expires every room whose grace has passed (timers lost to a restart, a flushed Redis...),
   * and re-announces recent expiries that still have people connected: their announcement was
   * lost with the process that committed them.
   */
  async sweep(): Promise<number> {
    // Rooms that may have a successor or rest go one by one; the others in one statement.
    const successions = await this.db
      .selectFrom("rooms")
      .select("id")
      .where("state", "=", "GRACE")
      .where("grace_ends_at", "<=", sql<Date>`now()`)
      .where((eb) => eb.or([eb("succession", "!=", "EXPIRE"), eb("is_persistent", "=", true)]))
      .execute();
    let expiredCount = 0;
    for (const { id } of successions) if (await this.expire(id)) expiredCount += 1;
    const rooms = await this.db.transaction().execute(async (trx) => {
      const due = await expireDueRooms(trx);
      for (const room of due) await recordRoomEvent(trx, room.id, null, "room.expired", { sweep: true });
      return due;
    });
    for (const room of rooms) await this.announceExpired(room.id, room.code);
    expiredCount += rooms.length;
    const recent = await this.db
      .selectFrom("rooms")
      .select(["id", "code"])
      .where("state", "=", "EXPIRED")
      .where("updated_at", ">", sql<Date>`now() - interval '1 hour'`)
      .execute();
    if (recent.length > 0) {
      const presence = await this.state.presence.roomPresence(recent.map((r) => r.id));
      for (const room of recent) if (presence.has(room.id)) await this.announceExpired(room.id, room.code);
    }
    return expiredCount;
  }

  /**
   * Host succession at the end of grace. The successor is present now, registered, approved and
   * not banned: the co-host present longest, else (policy ANYONE) the viewer present longest.
   * One conditional UPDATE makes the change, so a second caller (a re-run job, the sweep) finds
   * nothing to do. The host who lost the room may reclaim it for `reclaimSeconds`.
   */
  private async succeed(roomId: string, from: "GRACE" | "RESTING"): Promise<boolean> {
    // A room in grace only once the deadline passed; a resting room at any time.
    const graceOver = from === "GRACE";
    const room = await this.db
      .selectFrom("rooms")
      .select(["id", "code", "host_id", "succession"])
      .where("id", "=", roomId)
      .where("state", "=", from)
      .$if(graceOver, (qb) => qb.where("grace_ends_at", "<=", sql<Date>`now()`))
      .where("succession", "!=", "EXPIRE")
      .executeTakeFirst();
    if (!room) return false;
    const present = await this.state.presence.onlineSince(roomId);
    present.delete(room.host_id);
    if (present.size === 0) return false;
    const candidates = await this.db
      .selectFrom("room_participants as p")
      .innerJoin("users as u", "u.id", "p.user_id")
      .select(["p.user_id", "p.is_cohost", "u.display_name"])
      .where("p.room_id", "=", roomId)
      .where("p.user_id", "in", [...present.keys()])
      .where("p.status", "=", "APPROVED")
      .where("u.is_guest", "=", false)
      .where("u.username", "is not", null)
      .where(({ not }) => not(bannedFrom(sql.ref<string>("p.room_id"), sql.ref<string>("p.user_id"))))
      .$if(room.succession === "COHOST", (qb) => qb.where("p.is_cohost", "=", true))
      .orderBy("p.joined_at")
      .execute();
    const [next] = candidates.sort(
      (a, b) => Number(b.is_cohost) - Number(a.is_cohost) || present.get(a.user_id)! - present.get(b.user_id)!,
    );
    if (!next) return false;
    const reclaimUntil = new Date(Date.now() + this.reclaimSeconds * 1000);
    const succeeded = await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable("rooms")
        .set({
          host_id: next.user_id,
          state: "LIVE",
          grace_ends_at: null,
          host_disconnected_at: null,
          rested_at: null,
          previous_host_id: room.host_id,
          reclaim_until: reclaimUntil,
          updated_at: sql`now()`,
        })
        .where("id", "=", roomId)
        .where("state", "=", from)
        .$if(graceOver, (qb) => qb.where("grace_ends_at", "<=", sql<Date>`now()`))
        .where("host_id", "=", room.host_id)
        .returning("id")
        .executeTakeFirst();
      if (!updated) return false;
      await trx
        .updateTable("room_participants")
        .set({ is_cohost: false })
        .where("room_id", "=", roomId)
        .where("user_id", "=", next.user_id)
        .execute();
      await recordRoomEvent(trx, roomId, null, "host.succeeded", {
        from: room.host_id,
        to: next.user_id,
        cohost: next.is_cohost,
        reclaim_until: reclaimUntil.toISOString(),
        ...(from === "RESTING" ? { from_rest: true } : {}),
      });
      return true;
    });
    if (!succeeded) return false;
    await this.state.presence.setHost(roomId, next.user_id);
    this.events.publish({
      type: "room.host_changed",
      roomId,
      code: room.code,
      hostId: next.user_id,
      hostName: next.display_name,
      previousHostId: room.host_id,
      reason: "succession",
      reclaimUntil: reclaimUntil.toISOString(),
    });
    return true;
  }

  /**
   * The host who lost the room to succession takes it back, within the reclaim window and while
   * connected to the room (a room must not be live with its host away). A room in grace (the
   * successor left) is live again at once.
   */
  async reclaim(roomId: string, userId: string): Promise<void> {
    const present = (await this.state.presence.onlineUsers(roomId)).has(userId);
    const result = await this.db.transaction().execute(async (trx) => {
      const room = await trx
        .selectFrom("rooms as r")
        .innerJoin("users as u", "u.id", "r.previous_host_id")
        .select(["r.id", "r.code", "r.host_id", "r.state", "u.display_name"])
        .where("r.id", "=", roomId)
        .where("r.previous_host_id", "=", userId)
        .where("r.reclaim_until", ">", sql<Date>`now()`)
        .where("r.state", "in", ["LIVE", "GRACE"])
        .forUpdate()
        .executeTakeFirst();
      if (!room || !present) return { room, live: false, done: false };
      const live = room.state === "GRACE";
      await trx
        .updateTable("rooms")
        .set({
          host_id: userId,
          previous_host_id: null,
          reclaim_until: null,
          ...(live ? { state: "LIVE" as const, grace_ends_at: null, host_disconnected_at: null } : {}),
          updated_at: sql`now()`,
        })
        .where("id", "=", roomId)
        .execute();
      await recordRoomEvent(trx, roomId, userId, "host.reclaimed", { from: room.host_id });
      return { room, live, done: true };
    });
    const { room, live, done } = result;
    if (!room) throw new AppError("PERMISSION_DENIED", "Only the previous host can reclaim the room, within the reclaim window");
    if (!done) throw new AppError("CONFLICT", "Connect to the room to reclaim it");
    if (live) await this.scheduler.cancel(roomId);
    await this.state.presence.setHost(roomId, userId);
    this.events.publish({
      type: "room.host_changed",
      roomId,
      code: room.code,
      hostId: userId,
      hostName: room.display_name,
      previousHostId: room.host_id,
      reason: "reclaimed",
      reclaimUntil: null,
    });
  }

  /** Forgets the room's realtime state and tells every instance (closing its sockets with 4004). */
  private async announceExpired(roomId: string, code: string): Promise<void> {
    await this.state.clearRoom(roomId);
    this.events.publish({ type: "room.expired", roomId, code });
  }

  /** A user's last connection vanished with a dead instance: leave for them. */
  async staleLeave(roomId: string, userId: string): Promise<void> {
    const row = await this.db
      .selectFrom("rooms as r")
      .innerJoin("users as u", (join) => join.on("u.id", "=", userId))
      .select(["r.code", "r.host_id", "r.state", "u.display_name"])
      .where("r.id", "=", roomId)
      .executeTakeFirst();
    if (!row || row.state === "DELETED" || row.state === "EXPIRED") return;
    let graceEndsAt: Date | null = null;
    if (row.host_id === userId) {
      graceEndsAt = await this.hostGone(roomId, userId, { reaped: true });
      if (!graceEndsAt) return;
    }
    this.events.publish({
      type: "member.left",
      roomId,
      code: row.code,
      userId,
      displayName: row.display_name,
      graceEndsAt: graceEndsAt?.toISOString() ?? null,
    });
  }
}
