/** /api/rooms/{cohosts,host-policy,reclaim-host}/: co-hosts, the host policy and reclaiming the host role. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { SUCCESSION_POLICIES } from "../../db/schema.js";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, says, uuid } from "../http/schemas.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import type { RoleService } from "./roles.js";

const tags = ["rooms"];
const roomId = uuid("room_id", "room_id required");
const flag = (name: string) => z.boolean({ error: says(`${name} must be true or false`) });

const rolesResponse = z.object({
  room_id: z.uuid(),
  cohosts: z.array(z.uuid()),
  succession: z.enum(SUCCESSION_POLICIES),
  cohosts_control_playback: z.boolean(),
  cohosts_moderate: z.boolean(),
});

export const roleRoutes =
  (roles: RoleService, lifecycle: RoomLifecycle, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    const authed = { onRequest: guards.required };

    app.post(
      "/cohosts/",
      {
        ...authed,
        schema: {
          tags,
          summary:
            "Host names (cohost: true) or un-names a co-host among the approved, registered participants (broadcast as COHOSTS_CHANGED)",
          security: bearerAuth,
          body: z.object({ room_id: roomId, user_id: uuid("user_id", "user_id required"), cohost: flag("cohost") }),
          response: { 200: rolesResponse, ...errorResponses(400, 401, 403, 404, 410) },
        },
      },
      async (request) => {
        const { room_id, user_id, cohost } = request.body;
        return { room_id, ...(await roles.setCohost(currentUser(request), room_id, user_id.toLowerCase(), cohost)) };
      },
    );

    app.post(
      "/host-policy/",
      {
        ...authed,
        schema: {
          tags,
          summary:
            "Host sets what co-hosts may do and who succeeds the host when grace runs out: EXPIRE (the room expires), COHOST (the longest-present co-host), ANYONE (a co-host, else the longest-present registered viewer)",
          security: bearerAuth,
          body: z.object({
            room_id: roomId,
            succession: z.enum(SUCCESSION_POLICIES, { error: says("succession must be EXPIRE, COHOST or ANYONE") }).optional(),
            cohosts_control_playback: flag("cohosts_control_playback").optional(),
            cohosts_moderate: flag("cohosts_moderate").optional(),
          }),
          response: { 200: rolesResponse, ...errorResponses(400, 401, 403, 404, 410) },
        },
      },
      async (request) => {
        const { room_id, ...policy } = request.body;
        return { room_id, ...(await roles.setPolicy(currentUser(request), room_id, policy)) };
      },
    );

    app.post(
      "/reclaim-host/",
      {
        ...authed,
        schema: {
          tags,
          summary: "The host who lost the room to succession takes it back, within HOST_RECLAIM_SECONDS (broadcast as HOST_CHANGED)",
          security: bearerAuth,
          body: z.object({ room_id: roomId }),
          response: { 200: z.object({ room_id: z.uuid(), reclaimed: z.literal(true) }), ...errorResponses(400, 401, 403) },
        },
      },
      async (request) => {
        await lifecycle.reclaim(request.body.room_id, currentUser(request).id);
        return { room_id: request.body.room_id, reclaimed: true as const };
      },
    );
  };
