/**
 * Room lifecycle steps shared by web processes and the worker: the host is gone (grace),
 * grace is over (expire), and the sweep that catches anything a timer or job missed.
 * Each transition is a conditional UPDATE, so it happens once whoever runs it; an expiry and its
 * audit row commit together, and its announcement is repeated by the sweep if the process that
 * committed it died before telling anyone.
 */
import { sql } from "kysely";
import type { DB } from "../db.js";
import { recordRoomEvent } from "../rooms/audit.js";
import type { RoomEventBus } from "../rooms/events.js";
import type { RealtimeState } from "../state/realtime-state.js";
import type { GraceScheduler } from "./scheduler.js";
import { expireDueRooms, markExpired, markGrace, markLive } from "./transitions.js";

export class RoomLifecycle {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly state: RealtimeState,
    private readonly scheduler: GraceScheduler,
    private readonly graceSeconds: number,
  ) {}

  /**
   * The host's last connection closed: LIVE → GRACE and schedule the expiry. If the host came
   * back on another instance meanwhile, grace is undone. Returns the deadline, or null.
   */
  async hostGone(roomId: string, hostId: string, meta: Record<string, unknown> = {}): Promise<Date | null> {
    const graced = await markGrace(this.db, roomId, this.graceSeconds);
    if (!graced?.grace_ends_at) return null;
    if ((await this.state.onlineUsers(roomId)).has(hostId)) {
      await markLive(this.db, roomId);
      return null;
    }
    await this.scheduler.schedule(roomId, graced.grace_ends_at);
    await recordRoomEvent(this.db, roomId, hostId, "host.disconnected", { grace_ends_at: graced.grace_ends_at.toISOString(), ...meta });
    return graced.grace_ends_at;
  }

  /** Grace is over: expire the room (once, whoever calls) and tell every instance. */
  async expire(roomId: string): Promise<boolean> {
    const expired = await this.db.transaction().execute(async (trx) => {
      const room = await markExpired(trx, roomId);
      if (room) await recordRoomEvent(trx, roomId, null, "room.expired");
      return room;
    });
    if (!expired) return false;
    await this.announceExpired(roomId, expired.code);
    return true;
  }

  /**
   * Expires every room whose grace has passed (timers lost to a restart, a flushed Redis...),
   * and re-announces recent expiries that still have people connected: their announcement was
   * lost with the process that committed them.
   */
  async sweep(): Promise<number> {
    const rooms = await this.db.transaction().execute(async (trx) => {
      const due = await expireDueRooms(trx);
      for (const room of due) await recordRoomEvent(trx, room.id, null, "room.expired", { sweep: true });
      return due;
    });
    for (const room of rooms) await this.announceExpired(room.id, room.code);
    const recent = await this.db
      .selectFrom("rooms")
      .select(["id", "code"])
      .where("state", "=", "EXPIRED")
      .where("updated_at", ">", sql<Date>`now() - interval '1 hour'`)
      .execute();
    if (recent.length > 0) {
      const presence = await this.state.roomPresence(recent.map((r) => r.id));
      for (const room of recent) if (presence.has(room.id)) await this.announceExpired(room.id, room.code);
    }
    return rooms.length;
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
