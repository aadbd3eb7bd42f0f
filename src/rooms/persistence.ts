/**
 * Persistent rooms: a registered host keeps a room, which then rests (RESTING) when its grace
 * runs out instead of expiring, and is LIVE again when the host or a successor returns (see
 * lifecycle/service.ts). A host keeps at most `perHost` rooms that way: the count is taken
 * with the host's user row locked, so two calls at once cannot both take the last place.
 */
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { DB } from "../db.js";
import { AppError, errors } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { ACTIVE_STATES, assertJoinable } from "../lifecycle/transitions.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { isHost } from "./permissions.js";

export interface Persistence {
  room_id: string;
  is_persistent: boolean;
}

export class PersistenceService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly perHost: number,
  ) {}

  async set(actor: { id: string; is_guest: boolean }, roomId: string, persistent: boolean): Promise<Persistence> {
    const result = await this.db.transaction().execute(async (trx) => {
      if (actor.is_guest) throw errors.forbidden("Only a registered host can keep a room");
      // The host's row first, then the room's: every call takes them in that order.
      await trx.selectFrom("users").select("id").where("id", "=", actor.id).forUpdate().executeTakeFirst();
      const room = await trx.selectFrom("rooms").selectAll().where("id", "=", roomId).forUpdate().executeTakeFirst();
      if (!room) throw errors.roomNotFound();
      if (!isHost(actor, room)) throw errors.forbidden("Only host can keep a room");
      assertJoinable(room);
      if (room.is_persistent === persistent) return { room, changed: false };
      if (room.state === "RESTING") {
        // A resting room must stay persistent: it wakes when its host joins it.
        throw new AppError("CONFLICT", "The room is resting: join it to wake it first, or delete it");
      }
      if (persistent) {
        const { n } = await trx
          .selectFrom("rooms")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("host_id", "=", actor.id)
          .where("is_persistent", "=", true)
          .where("state", "in", ACTIVE_STATES)
          .executeTakeFirstOrThrow();
        if (Number(n) >= this.perHost) {
          throw new AppError("CONFLICT", `You keep ${this.perHost} rooms already: make one of them ordinary first`, {
            details: { limit: this.perHost },
          });
        }
      }
      await trx.updateTable("rooms").set({ is_persistent: persistent, updated_at: sql`now()` }).where("id", "=", roomId).execute();
      await recordRoomEvent(trx, roomId, actor.id, "room.persistence_changed", { persistent });
      return { room, changed: true };
    });
    const { room, changed } = result;
    if (changed) {
      const message = { type: "ROOM_PERSISTENCE" as const, is_persistent: persistent };
      this.events.publish({ type: "room.broadcast", roomId, code: room.code, message, logKey: `persistence:${randomUUID()}` });
    }
    return { room_id: roomId, is_persistent: persistent };
  }
}
