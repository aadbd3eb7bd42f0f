/** /api/rooms/party/: the host schedules, moves or clears the room's party (also SET_PARTY_TIME over the socket). */
import { partyTime } from "@streamit/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, uuid } from "../http/schemas.js";
import type { PartyService } from "./service.js";

const tags = ["rooms"];

export const partyRoutes =
  (party: PartyService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      "/party/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary: "Host schedules the room's party: playback starts by itself at `starts_at`, in sync (null clears it)",
          description:
            "The host, and co-hosts when the room lets them control playback. `starts_at` must be in the future and at most `PARTY_MAX_DAYS_AHEAD` days ahead (400 VALIDATION_FAILED). Members get PARTY_STARTS_AT. At that time the room plays from where its play head is; with no media set it does not start (PARTY_STARTS_AT `starts_at: null, reason: no_media`).",
          security: bearerAuth,
          body: z.object({
            room_id: uuid("room_id", "room_id required"),
            starts_at: partyTime.nullable().describe("ISO 8601 time with an offset; null clears the party"),
          }),
          response: {
            200: z.object({ room_id: z.uuid(), party_starts_at: z.string().nullable() }),
            ...errorResponses(400, 401, 403, 404, 410),
          },
        },
      },
      async (request) =>
        party.set(currentUser(request), request.body.room_id, request.body.starts_at === null ? null : new Date(request.body.starts_at)),
    );
  };
