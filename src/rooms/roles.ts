/**
 * Co-hosts and the room's host policy: who besides the host may control playback and moderate,
 * and who takes over when the host's grace runs out (succession runs in RoomLifecycle). Each
 * change commits with its audit row and is announced to every instance (`room.roles_changed`).
 */
import { sql } from "kysely";
import type { Room } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError, errors } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { assertJoinable } from "../lifecycle/transitions.js";
import { bannedFrom } from "../moderation/service.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { isHost } from "./permissions.js";
import { type HostPolicy, type RoomRoles, rolesOf } from "./roles-model.js";

/** The approved, unbanned co-hosts of a room, in the order they joined. */
export async function loadCohosts(db: DB, roomId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("room_participants as p")
    .select("p.user_id")
    .where("p.room_id", "=", roomId)
    .where("p.is_cohost", "=", true)
    .where("p.status", "=", "APPROVED")
    .where(({ not }) => not(bannedFrom(sql.ref<string>("p.room_id"), sql.ref<string>("p.user_id"))))
    .orderBy("p.joined_at")
    .execute();
  return rows.map((r) => r.user_id);
}

export class RoleService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
  ) {}

  /** Names or un-names a co-host: an approved, registered participant other than the host. */
  async setCohost(actor: { id: string; is_guest: boolean }, roomId: string, userId: string, cohost: boolean): Promise<RoomRoles> {
    return this.change(actor, roomId, async (trx, room) => {
      if (userId === room.host_id) throw errors.validation("The host cannot be a co-host");
      const target = await trx
        .selectFrom("room_participants as p")
        .innerJoin("users as u", "u.id", "p.user_id")
        .select(["p.status", "p.is_cohost", "u.is_guest", bannedFrom(sql.ref<string>("p.room_id"), userId).as("banned")])
        .where("p.room_id", "=", room.id)
        .where("p.user_id", "=", userId)
        .executeTakeFirst();
      if (target?.status !== "APPROVED" || target.banned) {
        throw new AppError("PARTICIPANT_NOT_FOUND", "User is not a participant of this room");
      }
      if (cohost && target.is_guest) throw errors.validation("Guests cannot be co-hosts");
      if (target.is_cohost === cohost) return undefined;
      await trx
        .updateTable("room_participants")
        .set({ is_cohost: cohost })
        .where("room_id", "=", room.id)
        .where("user_id", "=", userId)
        .execute();
      await recordRoomEvent(trx, room.id, actor.id, cohost ? "cohost.added" : "cohost.removed", { user_id: userId });
      return room;
    });
  }

  /** Changes what co-hosts may do and the succession policy. */
  async setPolicy(actor: { id: string; is_guest: boolean }, roomId: string, policy: HostPolicy): Promise<RoomRoles> {
    return this.change(actor, roomId, async (trx, room) => {
      const changed = Object.entries(policy).filter(([key, value]) => value !== undefined && room[key as keyof HostPolicy] !== value);
      if (changed.length === 0) return undefined;
      const values = Object.fromEntries(changed) as HostPolicy;
      const updated = await trx
        .updateTable("rooms")
        .set({ ...values, updated_at: sql`now()` })
        .where("id", "=", room.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordRoomEvent(trx, room.id, actor.id, "room.host_policy_changed", values);
      return updated;
    });
  }

  /**
   * Runs a host-only change of an active room in one transaction (the room row locked, so two
   * changes cannot interleave), then announces the resulting roles when something changed.
   * `apply` returns the room as it now is, or undefined when nothing changed.
   */
  private async change(
    actor: { id: string; is_guest: boolean },
    roomId: string,
    apply: (trx: DB, room: Room) => Promise<Room | undefined>,
  ): Promise<RoomRoles> {
    const { room, roles, changed } = await this.db.transaction().execute(async (trx) => {
      const locked = await trx.selectFrom("rooms").selectAll().where("id", "=", roomId).forUpdate().executeTakeFirst();
      if (!locked) throw errors.roomNotFound();
      if (!isHost(actor, locked)) throw errors.forbidden("Only host can manage co-hosts");
      assertJoinable(locked);
      const changedRoom = await apply(trx, locked);
      const room = changedRoom ?? locked;
      return { room, roles: rolesOf(room, await loadCohosts(trx, roomId)), changed: changedRoom !== undefined };
    });
    if (changed) this.events.publish({ type: "room.roles_changed", roomId: room.id, code: room.code, roles });
    return roles;
  }
}
