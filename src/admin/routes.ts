/** Staff-only REST: list rooms and users, expire or delete a room. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { sql } from "kysely";
import { z } from "zod";
import { ROOM_STATES } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError } from "../errors.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import { markDeleted, markGrace } from "../lifecycle/transitions.js";
import { type AuthGuards, currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, uuid } from "../http/schemas.js";
import type { PresenceReader } from "../state/presence.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { type RoomEventBus } from "../events/room-events.js";

const tags = ["admin"];
const page = {
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
};

export const adminRoutes =
  (deps: { db: DB; guards: AuthGuards; presence: PresenceReader; lifecycle: RoomLifecycle; events: RoomEventBus }): FastifyPluginAsyncZod =>
  async (app) => {
    const { db } = deps;
    const staffOnly = [
      deps.guards.required,
      async (request: Parameters<AuthGuards["required"]>[0]) => {
        if (!currentUser(request).is_staff) throw new AppError("PERMISSION_DENIED", "Staff only");
      },
    ];

    app.get(
      "/rooms/",
      {
        onRequest: staffOnly,
        schema: {
          tags,
          summary: "All rooms, newest first, with live presence",
          security: bearerAuth,
          querystring: z.object({ state: z.enum(ROOM_STATES).optional(), ...page }),
          response: {
            200: z.array(
              z.object({
                room_id: z.uuid(),
                code: z.string(),
                state: z.enum(ROOM_STATES),
                host: z.string(),
                host_id: z.uuid(),
                is_private: z.boolean(),
                created_at: z.string(),
                grace_ends_at: z.string().nullable(),
                viewers: z.number().int(),
                host_online: z.boolean(),
              }),
            ),
            ...errorResponses(400, 401, 403),
          },
        },
      },
      async (request) => {
        const rows = await db
          .selectFrom("rooms as r")
          .innerJoin("users as u", "u.id", "r.host_id")
          .select(["r.id", "r.code", "r.state", "u.display_name", "r.host_id", "r.is_private", "r.created_at", "r.grace_ends_at"])
          .$if(request.query.state !== undefined, (qb) => qb.where("r.state", "=", request.query.state!))
          .orderBy("r.created_at", "desc")
          .limit(request.query.limit)
          .offset(request.query.offset)
          .execute();
        const presence = await deps.presence.roomPresence(rows.map((r) => r.id));
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
      },
    );

    app.get(
      "/users/",
      {
        onRequest: staffOnly,
        schema: {
          tags,
          summary: "Accounts, newest first (q filters by email, username or display name)",
          security: bearerAuth,
          querystring: z.object({ q: z.string().trim().max(100).optional(), ...page }),
          response: {
            200: z.array(
              z.object({
                id: z.uuid(),
                email: z.string().nullable(),
                username: z.string().nullable(),
                display_name: z.string(),
                is_guest: z.boolean(),
                is_staff: z.boolean(),
                is_active: z.boolean(),
                created_at: z.string(),
              }),
            ),
            ...errorResponses(400, 401, 403),
          },
        },
      },
      async (request) => {
        const q = request.query.q;
        const rows = await db
          .selectFrom("users")
          .select(["id", "email", "username", "display_name", "is_guest", "is_staff", "is_active", "created_at"])
          .$if(Boolean(q), (qb) => {
            const pattern = `%${q!.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
            return qb.where((eb) =>
              eb.or([eb("email", "ilike", pattern), eb("username", "ilike", pattern), eb("display_name", "ilike", pattern)]),
            );
          })
          .orderBy("created_at", "desc")
          .limit(request.query.limit)
          .offset(request.query.offset)
          .execute();
        return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
      },
    );

    const roomBody = z.object({ room_id: uuid("room_id", "room_id required") });
    const stateReply = { 200: z.object({ room_id: z.uuid(), state: z.enum(ROOM_STATES) }), ...errorResponses(400, 401, 403, 404, 409) };

    app.post(
      "/rooms/expire/",
      {
        onRequest: staffOnly,
        schema: { tags, summary: "Expire a LIVE or GRACE room now (sockets get ROOM_EXPIRED, 4004)", security: bearerAuth, body: roomBody, response: stateReply },
      },
      async (request) => {
        const room = await findRoom(db, request.body.room_id);
        if (room.state !== "LIVE" && room.state !== "GRACE") {
          throw new AppError("CONFLICT", `Only LIVE or GRACE rooms can be expired (this one is ${room.state})`);
        }
        // LIVE → GRACE with a deadline in the past, then the ordinary conditional expiry.
        if (room.state === "LIVE") await markGrace(db, room.id, 0, new Date(Date.now() - 1000));
        await db.updateTable("rooms").set({ grace_ends_at: sql`now()` }).where("id", "=", room.id).where("state", "=", "GRACE").execute();
        await deps.lifecycle.expire(room.id);
        await recordRoomEvent(db, room.id, currentUser(request).id, "staff.expired");
        return { room_id: room.id, state: (await findRoom(db, room.id)).state };
      },
    );

    app.post(
      "/rooms/delete/",
      {
        onRequest: staffOnly,
        schema: { tags, summary: "Delete a room (sockets get ROOM_DELETED, 4005)", security: bearerAuth, body: roomBody, response: stateReply },
      },
      async (request) => {
        const room = await findRoom(db, request.body.room_id);
        const deleted = await markDeleted(db, room.id);
        if (deleted) {
          await recordRoomEvent(db, room.id, currentUser(request).id, "staff.deleted");
          deps.events.publish({ type: "room.deleted", roomId: room.id, code: room.code });
        }
        return { room_id: room.id, state: deleted?.state ?? room.state };
      },
    );
  };

async function findRoom(db: DB, roomId: string) {
  const room = await db.selectFrom("rooms").select(["id", "code", "state"]).where("id", "=", roomId).executeTakeFirst();
  if (!room) throw new AppError("ROOM_NOT_FOUND", "Room not found");
  return room;
}
