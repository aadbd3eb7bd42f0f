/** /api/rooms/chat/ and /api/rooms/slow-mode/: the host's chat settings over REST. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { type AuthGuards, currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, says, uuid } from "../http/schemas.js";
import { SLOW_MODE_MAX_SECONDS } from "../state/realtime-state.js";
import type { ChatSettingsService } from "./settings.js";

const tags = ["rooms"];
const slowModeRange = says(`seconds must be a whole number from 0 to ${SLOW_MODE_MAX_SECONDS}`);

export const chatRoutes =
  (settings: ChatSettingsService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    const authed = { onRequest: guards.required };

    app.post(
      "/chat/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host enables or disables chat (broadcast to the room)",
          security: bearerAuth,
          body: z.object({
            room_id: uuid("room_id", "room_id required"),
            enabled: z.boolean({ error: says("enabled must be true or false") }),
          }),
          response: {
            200: z.object({ room_id: z.uuid(), is_chat_enabled: z.boolean() }),
            ...errorResponses(400, 401, 403, 404, 410),
          },
        },
      },
      async (request) => settings.setChatEnabled(currentUser(request), request.body.room_id, request.body.enabled),
    );

    app.post(
      "/slow-mode/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host sets chat slow mode: viewers may send one message per `seconds` (0 = off; broadcast as CHAT_STATUS)",
          security: bearerAuth,
          body: z.object({
            room_id: uuid("room_id", "room_id required"),
            seconds: z.number({ error: slowModeRange }).int(slowModeRange).min(0, slowModeRange).max(SLOW_MODE_MAX_SECONDS, slowModeRange),
          }),
          response: {
            200: z.object({ room_id: z.uuid(), chat_slow_mode_seconds: z.number().int() }),
            ...errorResponses(400, 401, 403, 404, 410),
          },
        },
      },
      async (request) => settings.setSlowMode(currentUser(request), request.body.room_id, request.body.seconds),
    );
  };
