/**
 * A room's chat settings over REST: the host turns chat on or off and sets slow mode. Each
 * change is written with its timeline row and then published as a RoomEvent (the hub tells
 * the room). Transport-free: returns plain objects and throws AppError.
 */
import { sql, type Updateable } from "kysely";
import type { Room, RoomsTable } from "../../db/schema.js";
import type { AuthUser } from "../auth/users.js";
import type { DB } from "../db.js";
import type { RoomEventBus } from "../events/room-events.js";
import { assertJoinable } from "../lifecycle/transitions.js";
import { requireHostOf } from "../rooms/service.js";
import { recordRoomEvent } from "../timeline/timeline.js";

export class ChatSettingsService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
  ) {}

  async setChatEnabled(user: AuthUser, roomId: string, enabled: boolean) {
    const room = await this.changeChatSetting(user, roomId, { is_chat_enabled: enabled }, "room.chat_toggled", { enabled });
    this.events.publish({ type: "room.chat_toggled", roomId: room.id, code: room.code, enabled });
    return { room_id: room.id, is_chat_enabled: enabled };
  }

  /** Chat slow mode: viewers may send one message per `seconds` (0 = off); the host is exempt. */
  async setSlowMode(user: AuthUser, roomId: string, seconds: number) {
    const room = await this.changeChatSetting(user, roomId, { chat_slow_mode_seconds: seconds }, "room.slow_mode_changed", { seconds });
    this.events.publish({ type: "room.slow_mode_changed", roomId: room.id, code: room.code, seconds });
    return { room_id: room.id, chat_slow_mode_seconds: seconds };
  }

  /** A host-only chat setting of an active room, written together with its audit row. */
  private async changeChatSetting(
    user: AuthUser,
    roomId: string,
    values: Pick<Updateable<RoomsTable>, "is_chat_enabled" | "chat_slow_mode_seconds">,
    auditEvent: string,
    auditData: Record<string, unknown>,
  ): Promise<Room> {
    const room = await requireHostOf(this.db, user, roomId, "Only host can change chat settings");
    assertJoinable(room);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("rooms")
        .set({ ...values, updated_at: sql`now()` })
        .where("id", "=", room.id)
        .execute();
      await recordRoomEvent(trx, room.id, user.id, auditEvent, auditData);
    });
    return room;
  }
}
