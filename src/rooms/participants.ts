/** The roster's rows: a room's approved participants, in the order they joined. */
import type { DB } from "../db.js";

export function approvedParticipants(db: DB, roomId: string): Promise<{ id: string; display_name: string }[]> {
  return db
    .selectFrom("room_participants as p")
    .innerJoin("users as u", "u.id", "p.user_id")
    .select(["u.id", "u.display_name"])
    .where("p.room_id", "=", roomId)
    .where("p.status", "=", "APPROVED")
    .orderBy("p.joined_at")
    .orderBy("u.id")
    .execute();
}
