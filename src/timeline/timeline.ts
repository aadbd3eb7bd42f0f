/**
 * The room timeline: an append-only log of who did what, when, and why (room_events; the
 * database refuses UPDATE). Written in the same transaction as the change it records.
 */
import { sql } from "kysely";
import type { DB } from "../db.js";

export async function recordRoomEvent(
  db: DB,
  roomId: string,
  actorId: string | null,
  event: string,
  data: Record<string, unknown> = {},
  reason: string | null = null,
): Promise<void> {
  await db
    .insertInto("room_events")
    .values({ room_id: roomId, actor_id: actorId, event, data: JSON.stringify(data), reason })
    .execute();
}

export interface TimelineQuery {
  /** Only events with a smaller seq (the previous page's `next_before`). */
  before?: number | undefined;
  limit: number;
  /** Only events whose name starts with this (e.g. `moderation.`). */
  type?: string | undefined;
}

export interface TimelineEntry {
  id: string;
  seq: number;
  event: string;
  actor: { id: string; display_name: string } | null;
  reason: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

/** One page of a room's timeline, newest first; `next_before` is null on the last page. */
export async function listRoomEvents(
  db: DB,
  roomId: string,
  query: TimelineQuery,
): Promise<{ events: TimelineEntry[]; next_before: number | null }> {
  const rows = await db
    .selectFrom("room_events as e")
    .leftJoin("users as u", "u.id", "e.actor_id")
    .select(["e.id", "e.seq", "e.event", "e.actor_id", "u.display_name", "e.reason", "e.data", "e.created_at"])
    .where("e.room_id", "=", roomId)
    .$if(query.before !== undefined, (qb) => qb.where("e.seq", "<", query.before!))
    // starts_with, not LIKE: a prefix with % or _ means itself.
    .$if(Boolean(query.type), (qb) => qb.where(sql<boolean>`starts_with(e.event, ${query.type!})`))
    .orderBy("e.seq", "desc")
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  return {
    events: page.map((r) => ({
      id: r.id,
      seq: Number(r.seq),
      event: r.event,
      actor: r.actor_id ? { id: r.actor_id, display_name: r.display_name ?? "" } : null,
      reason: r.reason,
      data: r.data,
      created_at: r.created_at.toISOString(),
    })),
    next_before: rows.length > query.limit ? Number(page[page.length - 1]!.seq) : null,
  };
}
