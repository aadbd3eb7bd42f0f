/** Public room discovery: LIVE public rooms whose host is connected, with live viewer counts. */
import type { DB } from "../db.js";
import type { PresenceReader } from "../state/presence.js";

export interface DiscoveryQuery {
  sort: "recent" | "viewers";
  limit: number;
  offset: number;
}

/** Upper bound on candidate rooms read per request; keeps the endpoint cheap under load. */
const MAX_CANDIDATES = 2000;

export class DiscoveryService {
  constructor(
    private readonly db: DB,
    private readonly presence: PresenceReader,
  ) {}

  async listPublic(query: DiscoveryQuery) {
    const candidates = await this.db
      .selectFrom("rooms as r")
      .innerJoin("users as u", "u.id", "r.host_id")
      .select(["r.id", "r.code", "r.created_at", "u.display_name as host"])
      .where("r.state", "=", "LIVE")
      .where("r.is_private", "=", false)
      .orderBy("r.created_at", "desc")
      .limit(MAX_CANDIDATES)
      .execute();
    const presence = await this.presence.roomPresence(candidates.map((r) => r.id));
    const live = candidates
      .map((r) => ({ room: r, presence: presence.get(r.id) }))
      .filter((x) => x.presence?.hostOnline)
      .map(({ room, presence: p }) => ({
        code: room.code,
        host: room.host,
        viewers: p?.viewers ?? 0,
        created_at: room.created_at.toISOString(),
      }));
    if (query.sort === "viewers") live.sort((a, b) => b.viewers - a.viewers);
    return live.slice(query.offset, query.offset + query.limit);
  }
}
