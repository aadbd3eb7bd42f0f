/** /api/rooms/queue/: the queue for members, and the host's vote-skip threshold. Edits go over the room socket. */
import { queueItemFields } from "@streamit/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { bearerAuth, errorResponses, says, uuid } from "../http/schemas.js";
import type { QueueService } from "./service.js";

const tags = ["rooms"];
const roomId = uuid("room_id", "room_id required");
const threshold = z.number().int().describe("Vote skip passes when this share (%) of the online members voted");
const queueItem = z.object(queueItemFields).meta({ id: "QueueItem" });

/** GET /queue/: the room's queue as a member sees it. */
const roomQueue = z
  .object({ room_id: z.uuid(), version: z.number().int(), items: z.array(queueItem), skip_threshold_percent: threshold })
  .meta({ id: "Queue" });

export const queueRoutes =
  (queue: QueueService, guards: AuthGuards): FastifyPluginAsyncZod =>
  async (app) => {
    const authed = { onRequest: guards.required };

    app.get(
      "/queue/",
      {
        ...authed,
        schema: {
          tags,
          summary: "The room's queue for an approved member (edited over the room socket: QUEUE_ADD, QUEUE_REMOVE, QUEUE_MOVE, NEXT)",
          security: bearerAuth,
          querystring: z.object({ room_id: roomId }),
          response: {
            200: roomQueue,
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => queue.forMember(currentUser(request), request.query.room_id),
    );

    app.post(
      "/queue/settings/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host sets the share (%) of online members whose skip votes play the queue's next item (default 50)",
          security: bearerAuth,
          body: z.object({
            room_id: roomId,
            skip_threshold_percent: z
              .number({ error: says("skip_threshold_percent must be a number") })
              .int(says("skip_threshold_percent must be a whole number"))
              .min(1, says("skip_threshold_percent must be at least 1"))
              .max(100, says("skip_threshold_percent must be at most 100")),
          }),
          response: { 200: z.object({ room_id: z.uuid(), skip_threshold_percent: threshold }), ...errorResponses(400, 401, 403, 404, 410) },
        },
      },
      async (request) => queue.setSkipThreshold(currentUser(request), request.body.room_id, request.body.skip_threshold_percent),
    );
  };
