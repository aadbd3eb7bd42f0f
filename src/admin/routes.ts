/** Staff-only REST: list rooms and users, expire or delete a room. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ROOM_STATES } from "../../db/schema.js";
import type { DB } from "../db.js";
import { AppError } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { type AuthGuards, currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, uuid } from "../http/schemas.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import type { PresenceReader } from "../state/presence.js";
import { AdminService } from "./service.js";

const tags = ["admin"];
const page = {
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
};

/** A room as staff see it, with live presence (GET /rooms/). */
const adminRoom = z
  .object({
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
  })
  .meta({ id: "AdminRoom" });

/** An account as staff see it (GET /users/). */
const adminUser = z
  .object({
    id: z.uuid(),
    email: z.string().nullable(),
    username: z.string().nullable(),
    display_name: z.string(),
    is_guest: z.boolean(),
    is_staff: z.boolean(),
    is_active: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: "AdminUser" });

export const adminRoutes =
  (deps: { db: DB; guards: AuthGuards; presence: PresenceReader; lifecycle: RoomLifecycle; events: RoomEventBus }): FastifyPluginAsyncZod =>
  async (app) => {
    const admin = new AdminService(deps.db, deps.presence, deps.lifecycle, deps.events);
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
            200: z.array(adminRoom),
            ...errorResponses(400, 401, 403),
          },
        },
      },
      async (request) => admin.listRooms(request.query),
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
            200: z.array(adminUser),
            ...errorResponses(400, 401, 403),
          },
        },
      },
      async (request) => admin.listUsers(request.query),
    );

    const roomBody = z.object({ room_id: uuid("room_id", "room_id required") });
    const stateReply = { 200: z.object({ room_id: z.uuid(), state: z.enum(ROOM_STATES) }), ...errorResponses(400, 401, 403, 404, 409) };

    app.post(
      "/rooms/expire/",
      {
        onRequest: staffOnly,
        schema: {
          tags,
          summary:
            "Expire a LIVE, GRACE or RESTING room now, whatever its succession policy or persistence (sockets get ROOM_EXPIRED, 4004)",
          security: bearerAuth,
          body: roomBody,
          response: stateReply,
        },
      },
      async (request) => admin.expireRoom(request.body.room_id, currentUser(request).id),
    );

    app.post(
      "/rooms/delete/",
      {
        onRequest: staffOnly,
        schema: {
          tags,
          summary: "Delete a room (sockets get ROOM_DELETED, 4005)",
          security: bearerAuth,
          body: roomBody,
          response: stateReply,
        },
      },
      async (request) => admin.deleteRoom(request.body.room_id, currentUser(request).id),
    );
  };
