/** ROOM_PARTICIPANTS: the approved roster (the original's names) plus who is online. */
import type { DB } from "../db.js";
import type { RealtimeState } from "../state/realtime-state.js";
import type { ServerMessageOf } from "./protocol.js";

export async function buildRoster(
  db: DB,
  state: RealtimeState,
  room: { id: string; hostId: string },
): Promise<ServerMessageOf<"ROOM_PARTICIPANTS">> {
  const [rows, online] = await Promise.all([
    db
      .selectFrom("room_participants as p")
      .innerJoin("users as u", "u.id", "p.user_id")
      .select(["u.id", "u.display_name"])
      .where("p.room_id", "=", room.id)
      .where("p.status", "=", "APPROVED")
      .orderBy("p.joined_at")
      .orderBy("u.id")
      .execute(),
    state.onlineUsers(room.id),
  ]);
  const members = rows.map((r) => ({
    id: r.id,
    display_name: r.display_name,
    is_host: r.id === room.hostId,
    online: online.has(r.id),
  }));
  return {
    type: "ROOM_PARTICIPANTS",
    participants: members.map((m) => m.display_name),
    host: members.find((m) => m.is_host)?.display_name ?? null,
    members,
    online: members.filter((m) => m.online).length,
  };
}
