/** /api/rooms/buffering/: the host sets the room's buffering policy (members get BUFFERING_POLICY). */
import { BUFFERING_POLICIES, bufferingPolicyFields } from "@streamit/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, says, uuid } from "../http/schemas.js";
import type { BufferingSettingsService } from "./settings.js";

const tags = ["rooms"];

export const bufferingRoutes =
  (settings: BufferingSettingsService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      "/buffering/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary:
            "Host sets the room's buffering policy: whether a viewer who buffers pauses the room, and for how long (docs/buffering.md)",
          description:
            "`never` (the default): nothing happens. `wait_for_all`: the room pauses while anyone buffers, and plays again when all are ready or after `max_wait_seconds`. `wait_for_share`: it pauses when fewer than `ready_percent` % of the online members are ready, and plays again once they are, or after `max_wait_seconds`. Numbers left out keep their values (defaults 10 s and 75 %).",
          security: bearerAuth,
          body: z.object({
            room_id: uuid("room_id", "room_id required"),
            policy: z.enum(BUFFERING_POLICIES, { error: says(`policy must be one of ${BUFFERING_POLICIES.join(", ")}`) }),
            max_wait_seconds: z
              .number({ error: says("max_wait_seconds must be a number") })
              .int(says("max_wait_seconds must be a whole number"))
              .min(1, says("max_wait_seconds must be at least 1"))
              .max(120, says("max_wait_seconds must be at most 120"))
              .optional(),
            ready_percent: z
              .number({ error: says("ready_percent must be a number") })
              .int(says("ready_percent must be a whole number"))
              .min(1, says("ready_percent must be at least 1"))
              .max(100, says("ready_percent must be at most 100"))
              .optional(),
          }),
          response: { 200: z.object({ room_id: z.uuid(), ...bufferingPolicyFields }), ...errorResponses(400, 401, 403, 404, 410) },
        },
      },
      async (request) => {
        const { room_id, ...policy } = request.body;
        return settings.set(currentUser(request), room_id, policy);
      },
    );
  };
