/** /api/rooms/public/ and /api/rooms/search/: public, rate-limited per client. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { MEDIA_TYPES } from "../../db/schema.js";
import type { AuthGuards } from "../http/auth-guard.js";
import { perClientBudget } from "../http/rate-limit.js";
import { errorResponses, publicAccess, says } from "../http/schemas.js";
import type { ProviderRegistry } from "../providers/registry.js";
import type { AttemptLimiter } from "../state/limiter.js";
import type { DiscoveryService } from "./service.js";

/** A LIVE public room, as listed (GET /public/). */
const publicRoom = z
  .object({ code: z.string(), host: z.string(), viewers: z.number().int(), created_at: z.string() })
  .meta({ id: "PublicRoom" });

/** A search hit: what POST /api/rooms/source/ can play. */
const catalogueItem = z
  .object({
    provider: z.string(),
    stream_id: z.string(),
    media_type: z.enum(MEDIA_TYPES),
    title: z.string(),
    poster: z.string().nullable(),
    release_year: z.number().int().nullable(),
  })
  .meta({ id: "CatalogueItem" });

export const discoveryRoutes =
  (deps: {
    discovery: DiscoveryService;
    providers: ProviderRegistry;
    limiter: AttemptLimiter;
    guards: AuthGuards;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      "/public/",
      {
        onRequest: [deps.guards.optional, perClientBudget(deps.limiter, "public", { limit: 120, windowSeconds: 60 })],
        schema: {
          tags: ["discovery"],
          security: publicAccess,
          summary: "LIVE public rooms whose host is connected",
          querystring: z.object({
            sort: z.enum(["recent", "viewers"]).default("recent"),
            limit: z.coerce.number().int().min(1).max(100).default(50),
            offset: z.coerce.number().int().min(0).max(10_000).default(0),
          }),
          response: {
            200: z.array(publicRoom),
            ...errorResponses(400, 429),
          },
        },
      },
      async (request) => deps.discovery.listPublic(request.query),
    );

    app.get(
      "/search/",
      {
        onRequest: [deps.guards.optional, perClientBudget(deps.limiter, "search", { limit: 30, windowSeconds: 60 })],
        schema: {
          tags: ["discovery"],
          security: publicAccess,
          summary: "Search the catalogue (TMDB-backed, cached for an hour)",
          querystring: z.object({
            q: z
              .string({ error: says("q required") })
              .trim()
              .min(1, says("q required"))
              .max(200),
            page: z
              .string()
              .regex(/^-?\d+$/, says("page must be an integer"))
              .transform(Number)
              .pipe(z.number().int().min(1, says("page must be >= 1")).max(500))
              .default(1),
            provider: z.string().max(50).default("vidking"),
          }),
          response: {
            200: z.array(catalogueItem),
            ...errorResponses(400, 429, 502, 503),
          },
        },
      },
      async (request) => deps.providers.search(request.query.provider, request.query.q, request.query.page),
    );
  };
