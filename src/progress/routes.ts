/** /api/rooms/progress/* and /api/rooms/<code>/resume/. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { MEDIA_TYPES } from "../../db/schema.js";
import { type AuthGuards, currentUser } from "../http/auth-guard.js";
import { codeLookupBudget } from "../http/rate-limit.js";
import { bearerAuth, errorResponses, requiredText, says, uuid } from "../http/schemas.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";
import type { ProgressService } from "./service.js";

export interface ProgressRouteLimits {
  limiter: AttemptLimiter;
  /** Unknown room codes looked up by path per client address (shared with the room routes). */
  codeMisses: LimitRule;
}

const tags = ["progress"];
const GET_REQUIRED = "room_id, media_id and media_type required";
const episodeNumber = z
  .number()
  .int()
  .min(0)
  .max(100_000)
  .nullish()
  .transform((v) => v ?? null);
const seconds = z.number().min(0).max(1e7).default(0);

const progressBody = z
  .object({
    room_id: uuid("room_id", "room_id required"),
    media_id: requiredText("media_id and media_type required", 255),
    media_type: z.enum(MEDIA_TYPES, { error: says("media_type must be movie or tv") }),
    season: episodeNumber,
    episode: episodeNumber,
    timestamp: seconds,
    duration: seconds,
    progress_percent: z.number().min(0).max(100).default(0),
    completed: z.boolean().default(false),
  })
  .refine((b) => b.media_type !== "tv" || (b.season !== null && b.episode !== null), {
    message: says("TV progress requires season and episode"),
  })
  .transform((b) => (b.media_type === "movie" ? { ...b, season: null, episode: null } : b));

const progressShape = z
  .object({
    room: z.uuid(),
    media_id: z.string(),
    media_type: z.enum(MEDIA_TYPES),
    season: z.number().int().nullable(),
    episode: z.number().int().nullable(),
    timestamp: z.number(),
    duration: z.number(),
    progress_percent: z.number(),
    completed: z.boolean(),
    updated_at: z.string(),
  })
  .meta({ id: "Progress", description: "The caller's watch progress in a room for one media item (episode)" });

const queryInt = z.coerce.number().int().min(0).max(100_000).optional();

export const progressRoutes =
  (progress: ProgressService, guards: AuthGuards, limits: ProgressRouteLimits): FastifyPluginAsyncZod =>
  async (app) => {
    const codeLookup = codeLookupBudget(limits.limiter, limits.codeMisses);
    app.post(
      "/progress/save/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary: "Save the caller's watch progress (upsert per media, season and episode)",
          security: bearerAuth,
          body: progressBody,
          response: { 200: progressShape, ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const { room_id, media_id, media_type, season, episode, ...values } = request.body;
        return progress.save(currentUser(request), room_id, { media_id, media_type, season, episode }, values);
      },
    );

    app.get(
      "/progress/get/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary: "The caller's progress for one media item (exact episode when given)",
          security: bearerAuth,
          querystring: z.object({
            room_id: uuid("room_id", GET_REQUIRED),
            media_id: requiredText(GET_REQUIRED, 255),
            media_type: z.enum(MEDIA_TYPES, { error: says(GET_REQUIRED) }),
            season: queryInt,
            episode: queryInt,
          }),
          response: {
            200: z.union([progressShape, z.object({ progress: z.null() })]),
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => {
        const { room_id, ...media } = request.query;
        return progress.get(currentUser(request), room_id, media);
      },
    );

    app.get(
      "/:room_code/resume/",
      {
        onRequest: guards.required,
        schema: {
          tags,
          summary: "Where the caller left off in a room",
          security: bearerAuth,
          params: z.object({ room_code: z.string().min(1).max(32) }),
          response: {
            200: z.object({
              progress_percent: z.number(),
              last_position_seconds: z.number(),
              completed: z.boolean(),
              media_id: z.string().optional(),
              media_type: z.enum(MEDIA_TYPES).optional(),
              season: z.number().int().nullable().optional(),
              episode: z.number().int().nullable().optional(),
            }),
            ...errorResponses(401, 404, 429),
          },
        },
      },
      async (request) => codeLookup(request, () => progress.resume(currentUser(request), request.params.room_code)),
    );
  };
