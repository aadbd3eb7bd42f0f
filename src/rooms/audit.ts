/** The audit log of room events (who did what, when). Written in the same transaction as the change. */
import type { DB } from "../db.js";

export async function recordRoomEvent(
  db: DB,
  roomId: string,
  actorId: string | null,
  event: string,
  data: Record<string, unknown> = {},
): Promise<void> {
  await db
    .insertInto("room_events")
    .values({ room_id: roomId, actor_id: actorId, event, data: JSON.stringify(data) })
    .execute();
}
