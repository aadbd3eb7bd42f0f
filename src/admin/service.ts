/**
 * Staff tools over the database: list rooms (with live presence) and accounts, expire or delete
 * a room. Transport-free: returns plain objects and throws AppError; the routes check staff.
 */
import type { RoomState } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import { markDeleted, markGrace } from "../lifecycle/transitions.js";
import type { PresenceReader } from "../state/presence.js";
import { recordRoomEvent } from "../timeline/timeline.js";

export interface AdminPage {
  limit: number;
  offset: number;
}

export class AdminService {
  constructor(
    private readonly db: DB,
    private readonly presence: PresenceReader,
    private readonly lifecycle: RoomLifecycle,
    private readonly events: RoomEventBus,
  ) {}

  /** All rooms (optionally of one state), newest first, with their host and live presence. */
  async listRooms(filter: AdminPage & { state?: RoomState | undefined }) {
    const rows = await this.db
      .selectFrom("rooms as r")
      .innerJoin("users as u", "u.id", "r.host_id")
      .select(["r.id", "r.code", "r.state", "u.display_name", "r.host_id", "r.is_private", "r.created_at", "r.grace_ends_at"])
      .$if(filter.state !== undefined, (qb) => qb.where("r.state", "=", filter.state!))
      .orderBy("r.created_at", "desc")
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    const presence = await this.presence.roomPresence(rows.map((r) => r.id));
    return rows.map((r) => ({
      room_id: r.id,
      code: r.code,
      state: r.state,
      host: r.display_name,
      host_id: r.host_id,
      is_private: r.is_private,
      created_at: r.created_at.toISOString(),
      grace_ends_at: r.grace_ends_at?.toISOString() ?? null,
      viewers: presence.get(r.id)?.viewers ?? 0,
      host_online: presence.get(r.id)?.hostOnline ?? false,
    }));
  }

  /** Accounts, newest first; `q` matches email, username or display name (case-insensitive, literal). */
  async listUsers(filter: AdminPage & { q?: string | undefined }) {
    const q = filter.q;
    const rows = await this.db
      .selectFrom("users")
      .select(["id", "email", "username", "display_name", "is_guest", "is_staff", "is_active", "created_at"])
      .$if(Boolean(q), (qb) => {
        const pattern = `%${q!.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        return qb.where((eb) =>
          eb.or([eb("email", "ilike", pattern), eb("username", "ilike", pattern), eb("display_name", "ilike", pattern)]),
        );
      })
      .orderBy("created_at", "desc")
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
  }

  /**
   * Expires a LIVE, GRACE or RESTING room now through the ordinary lifecycle (sockets get
   * ROOM_EXPIRED), whatever its succession policy or persistence: staff decide here. Records
   * `staff.expired` for the staff member, and returns the room's state afterwards.
   */
  async expireRoom(roomId: string, staffId: string): Promise<{ room_id: string; state: RoomState }> {
    const room = await this.findRoom(roomId);
    if (room.state !== "LIVE" && room.state !== "GRACE" && room.state !== "RESTING") {
      throw new AppError("CONFLICT", `Only LIVE, GRACE or RESTING rooms can be expired (this one is ${room.state})`);
    }
    // LIVE → GRACE with a deadline in the past, then the conditional expiry, forced.
    if (room.state === "LIVE") await markGrace(this.db, room.id, 0, new Date(Date.now() - 1000));
    await this.lifecycle.expire(room.id, { force: true });
    await recordRoomEvent(this.db, room.id, staffId, "staff.expired");
    return { room_id: room.id, state: (await this.findRoom(room.id)).state };
  }

  /**
   * Deletes a room; when this call made the change, records `staff.deleted` and publishes
   * `room.deleted` (sockets get ROOM_DELETED). Returns the room's state afterwards.
   */
  async deleteRoom(roomId: string, staffId: string): Promise<{ room_id: string; state: RoomState }> {
    const room = await this.findRoom(roomId);
    const deleted = await markDeleted(this.db, room.id);
    if (deleted) {
      await recordRoomEvent(this.db, room.id, staffId, "staff.deleted");
      this.events.publish({ type: "room.deleted", roomId: room.id, code: room.code });
    }
    return { room_id: room.id, state: deleted?.state ?? room.state };
  }

  /** The room's id, code and state, or ROOM_NOT_FOUND. */
  private async findRoom(roomId: string) {
    const room = await this.db.selectFrom("rooms").select(["id", "code", "state"]).where("id", "=", roomId).executeTakeFirst();
    if (!room) throw new AppError("ROOM_NOT_FOUND", "Room not found");
    return room;
  }
}
