/** /api/rooms/persistent/: the host keeps a room (it rests instead of expiring) or makes it ordinary. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, says, uuid } from "../http/schemas.js";
import type { PersistenceService } from "./persistence.js";

export const persistenceRoutes =
  (persistence: PersistenceService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      "/persistent/",
      {
        onRequest: guards.required,
        schema: {
          tags: ["rooms"],
          summary:
            "Host (registered) keeps the room: when grace runs out with nobody to take it, it rests (RESTING) instead of expiring, with its queue, chat, settings and bans, until the host or a successor comes back (broadcast as ROOM_PERSISTENCE). At most PERSISTENT_ROOMS_PER_HOST per host (409)",
          security: bearerAuth,
          body: z.object({
            room_id: uuid("room_id", "room_id required"),
            persistent: z.boolean({ error: says("persistent must be true or false") }),
          }),
          response: {
            200: z.object({ room_id: z.uuid(), is_persistent: z.boolean() }),
            ...errorResponses(400, 401, 403, 404, 409, 410),
          },
        },
      },
      async (request) => persistence.set(currentUser(request), request.body.room_id.toLowerCase(), request.body.persistent),
    );
  };
