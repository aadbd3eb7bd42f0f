/** /api/rooms/invites/: a host's invite links (create, list, revoke); they are used by /join/'s `invite`. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, says, uuid } from "../http/schemas.js";
import { INVITE_LIMITS, type InviteService } from "./invites.js";

const tags = ["rooms"];
const roomId = uuid("room_id", "room_id required");

const invite = z
  .object({
    invite_id: z.uuid(),
    room_id: z.uuid(),
    created_at: z.string(),
    expires_at: z.string(),
    max_uses: z.number().int(),
    uses: z.number().int(),
    revoked_at: z.string().nullable(),
    active: z.boolean().describe("Usable now: not revoked, not expired, uses left"),
  })
  .meta({ id: "Invite", description: "An invite link's state (never its token, shown only when it is created)" });

export const inviteRoutes =
  (invites: InviteService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    const authed = { onRequest: guards.required };

    app.post(
      "/invites/",
      {
        ...authed,
        schema: {
          tags,
          summary:
            "Host creates an invite link for a password or approval room: its token (shown only here) joins without the password or the approval, until it expires or its uses run out",
          security: bearerAuth,
          body: z.object({
            room_id: roomId,
            expires_in_seconds: z
              .number({ error: says("expires_in_seconds must be a number") })
              .int(says("expires_in_seconds must be a whole number"))
              .min(INVITE_LIMITS.minTtlSeconds, says(`expires_in_seconds must be at least ${INVITE_LIMITS.minTtlSeconds}`))
              .max(INVITE_LIMITS.maxTtlSeconds, says(`expires_in_seconds must be at most ${INVITE_LIMITS.maxTtlSeconds} (30 days)`))
              .optional()
              .describe(`Default ${INVITE_LIMITS.defaultTtlSeconds} (7 days)`),
            max_uses: z
              .number({ error: says("max_uses must be a number") })
              .int(says("max_uses must be a whole number"))
              .min(1, says("max_uses must be at least 1"))
              .max(INVITE_LIMITS.maxUses, says(`max_uses must be at most ${INVITE_LIMITS.maxUses}`))
              .optional()
              .describe(`Default ${INVITE_LIMITS.defaultUses}`),
          }),
          response: {
            201: invite.extend({
              token: z.string().describe("Pass it as `invite` to POST /api/rooms/join/ with the room's code"),
              code: z.string(),
            }),
            ...errorResponses(400, 401, 403, 404, 409, 410),
          },
        },
      },
      async (request, reply) => {
        const { room_id, ...options } = request.body;
        reply.code(201);
        return invites.create(currentUser(request), room_id, options);
      },
    );

    app.get(
      "/invites/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host lists the room's invites, newest first, with their uses (never their tokens)",
          security: bearerAuth,
          querystring: z.object({ room_id: roomId }),
          response: { 200: z.array(invite), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => invites.list(currentUser(request), request.query.room_id),
    );

    app.post(
      "/invites/revoke/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host revokes an invite: it admits nobody from now on (revoking it again changes nothing)",
          security: bearerAuth,
          body: z.object({ room_id: roomId, invite_id: uuid("invite_id", "invite_id required") }),
          response: { 200: z.object({ revoked: z.literal(true), invite }), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => invites.revoke(currentUser(request), request.body.room_id, request.body.invite_id.toLowerCase()),
    );
  };
