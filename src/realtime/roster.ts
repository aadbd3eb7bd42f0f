/** ROOM_PARTICIPANTS: the approved roster (the original's names) plus who is online. */

import type { ServerMessageOf } from "@streamit/protocol";
import type { DB } from "../db.js";
import { approvedParticipants } from "../rooms/participants.js";
import type { Presence } from "../state/presence/presence.js";

/** How long a room's approved roster may be reused (join storms read it once per burst). */
const ROSTER_ROWS_TTL_MS = 1000;

interface RosterRows {
  rows: { id: string; display_name: string }[];
  ids: Set<string>;
  at: number;
}

export interface RosterRoom {
  id: string;
  hostId: string;
  roles: { cohosts: readonly string[] };
  rosterRows?: RosterRows | undefined;
}

/**
 * Builds the message. The approved participants come from the database, reused for a moment
 * when they already include `mustInclude` (a joiner must see itself); `fresh` always re-reads.
 */
export async function buildRoster(
  db: DB,
  presence: Pick<Presence, "onlineUsers">,
  room: RosterRoom,
  mustInclude?: string,
  fresh = false,
): Promise<ServerMessageOf<"ROOM_PARTICIPANTS">> {
  const cached = room.rosterRows;
  const reusable =
    !fresh && cached && Date.now() - cached.at < ROSTER_ROWS_TTL_MS && (mustInclude === undefined || cached.ids.has(mustInclude));
  const [rows, online] = await Promise.all([reusable ? Promise.resolve(cached.rows) : loadRows(db, room), presence.onlineUsers(room.id)]);
  const members = rows.map((r) => ({
    id: r.id,
    display_name: r.display_name,
    is_host: r.id === room.hostId,
    is_cohost: room.roles.cohosts.includes(r.id),
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

async function loadRows(db: DB, room: RosterRoom) {
  const rows = await approvedParticipants(db, room.id);
  room.rosterRows = { rows, ids: new Set(rows.map((r) => r.id)), at: Date.now() };
  return rows;
}
