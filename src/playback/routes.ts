/** /api/rooms/source/: the host sets the room's media over REST. */

import { mediaSourceFields } from "@streamit/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { MEDIA_TYPES } from "../../db/schema.js";
import { type AuthGuards, currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, requiredText, uuid } from "../http/schemas.js";
import type { SourceService } from "./source.js";

const tags = ["rooms"];
const episodeNumber = z.number().int().min(0).max(100_000).nullish();
const SOURCE_REQUIRED = "room_id, provider, and video_id required";

export const sourceRoutes =
  (sources: SourceService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    const authed = { onRequest: guards.required };

    app.post(
      "/source/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host sets the room's media; playback resets and the room is told",
          security: bearerAuth,
          body: z.object({
            room_id: uuid("room_id", SOURCE_REQUIRED),
            provider: requiredText(SOURCE_REQUIRED, 50),
            video_id: requiredText(SOURCE_REQUIRED, 255),
            media_type: z.enum(MEDIA_TYPES).optional(),
            season: episodeNumber,
            episode: episodeNumber,
          }),
          response: {
            200: z.object({ room_id: z.uuid(), ...mediaSourceFields }),
            ...errorResponses(400, 401, 403, 404, 410),
          },
        },
      },
      async (request) => sources.setSource(currentUser(request), request.body),
    );
  };
