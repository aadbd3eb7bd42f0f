/**
 * The OpenAPI document served at /api/schema/: @fastify/swagger over the routes' zod schemas
 * (fastify-type-provider-zod), with the operation ids of operation-ids.ts, the zod schemas
 * registered with an `id` (`.meta({ id })`) as `components.schemas`, and bearer auth as the
 * default that every operation also states itself (`security: []` for the public ones).
 * `npm run lint:openapi` and test/openapi.test.ts hold it to Redocly's recommended rules.
 */
import type { FastifyDynamicSwaggerOptions, SwaggerTransform, SwaggerTransformObject } from "@fastify/swagger";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import { OPERATION_IDS } from "./operation-ids.js";
import { bearerAuth } from "./schemas.js";

/** "METHOD path" as the document spells it (`{param}`, not Fastify's `:param`). */
export const operationKey = (method: string, url: string): string => `${method.toUpperCase()} ${url.replace(/:(\w+)/g, "{$1}")}`;

const transform: SwaggerTransform = (input) => {
  const out = jsonSchemaTransform(input);
  const { method } = input.route;
  const operationId = typeof method === "string" && !out.schema.hide ? OPERATION_IDS[operationKey(method, input.url)] : undefined;
  return operationId ? { ...out, schema: { ...out.schema, operationId } } : out;
};

const REF_PREFIX = "#/components/schemas/";

/**
 * The components some operation refers to, directly or through another component. The zod
 * transform emits an input and an output copy of every registered schema (`XInput`, `X`), used
 * or not; an unused component is only noise to a client generator.
 */
function referencedComponents(paths: unknown, schemas: Record<string, unknown>): Set<string> {
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      const ref = (value as { $ref?: unknown }).$ref;
      if (typeof ref === "string" && ref.startsWith(REF_PREFIX) && !used.has(ref.slice(REF_PREFIX.length))) {
        used.add(ref.slice(REF_PREFIX.length));
        visit(schemas[ref.slice(REF_PREFIX.length)]);
      }
      Object.values(value).forEach(visit);
    }
  };
  visit(paths);
  return used;
}

const transformObject: SwaggerTransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as { paths?: unknown; components?: { schemas?: Record<string, unknown> } };
  const schemas = doc.components?.schemas ?? {};
  const used = referencedComponents(doc.paths, schemas);
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...doc, components: { ...doc.components, schemas: kept } } as ReturnType<SwaggerTransformObject>;
};

export const openApiOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    info: {
      title: "StreamIt API",
      // The API's version (the one /api/v1 names), not the package's.
      version: "1.0.0",
      description:
        "Watch-together backend: rooms, chat and synchronized playback. Every /api path except /api/schema/ and /api/docs/ also exists under /api/v1.",
    },
    // Relative: the document is right wherever it is served from (behind a proxy, on any host).
    servers: [{ url: "/", description: "The origin serving this document" }],
    security: bearerAuth,
    components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
  },
  transform,
  transformObject,
};
