/** Operational endpoints: /livez, /readyz, /health/, /api/health/, /metrics (Prometheus). */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { Counter, Histogram, type Registry } from "prom-client";
import { z } from "zod";
import { collectProcessMetrics } from "../metrics/process.js";
import { publicAccess } from "./schemas.js";

export interface DependencyChecks {
  database: () => Promise<void>;
  /** Undefined when Redis is not configured. */
  redis?: (() => Promise<void>) | undefined;
  /** The process's load (event loop, load shedding). */
  load: () => { event_loop_delay_ms: number; event_loop_utilization: number; under_pressure: boolean };
  /** True once the process has begun its shutdown drain. */
  draining: () => boolean;
}

/** The probes' paths (Kubernetes' names); never shed, never rate limited, never cached. */
export const PROBE_PATHS = ["/livez", "/readyz"] as const;

const DRAINING = { status: "draining" as const, reason: "shutting down: send new traffic elsewhere" };

function isReadinessProbe(url: string | undefined): boolean {
  const pathname = (url ?? "").split("?", 1)[0];
  return pathname === "/readyz" || pathname === "/readyz/";
}

function sendDraining(res: ServerResponse): void {
  res.writeHead(503, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", Connection: "close" });
  res.end(JSON.stringify(DRAINING));
}

/**
 * Once Fastify closes it answers every request with its own bodiless 503 before any route or
 * hook runs. A load balancer only needs the 503, but an operator reading the probe should see
 * why: /readyz is answered here, in front of Fastify, while the process drains.
 */
export function answerReadinessWhileClosing(handler: RequestListener, draining: () => boolean): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (draining() && isReadinessProbe(req.url)) sendDraining(res);
    else handler(req, res);
  };
}

const CHECK_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<void>): Promise<"ok" | "error"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return "ok";
  } catch {
    return "error";
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes =
  (checks: DependencyChecks): FastifyPluginAsyncZod =>
  async (app) => {
    const status = z.enum(["ok", "error", "disabled"]);
    const load = z
      .object({ event_loop_delay_ms: z.number(), event_loop_utilization: z.number(), under_pressure: z.boolean() })
      .describe("mean event-loop delay over the last second; under_pressure: HTTP requests are being shed (503)");
    app.get(
      "/health/",
      {
        schema: {
          tags: ["ops"],
          security: publicAccess,
          summary: "Readiness: 200 when every configured dependency answers, else 503",
          response: {
            200: z.object({ status: z.literal("ok"), database: status, redis: status, load }),
            503: z.object({ status: z.literal("degraded"), database: status, redis: status, load }),
          },
        },
      },
      async (_request, reply) => {
        const [database, redis] = await Promise.all([
          probe(checks.database),
          checks.redis ? probe(checks.redis) : Promise.resolve("disabled" as const),
        ]);
        const healthy = database === "ok" && redis !== "error";
        return reply.code(healthy ? 200 : 503).send({ status: healthy ? "ok" : "degraded", database, redis, load: checks.load() });
      },
    );
    app.get(
      "/livez",
      {
        schema: {
          tags: ["ops"],
          security: publicAccess,
          summary: "Liveness probe: 200 while the process and its event loop answer (no dependency is asked)",
          response: { 200: z.object({ status: z.literal("ok") }) },
        },
      },
      async (_request, reply) => reply.header("Cache-Control", "no-store").send({ status: "ok" as const }),
    );
    const readiness = { status: z.enum(["ok", "error"]), database: status, redis: status, migrations: z.literal("ok") };
    app.get(
      "/readyz",
      {
        schema: {
          tags: ["ops"],
          security: publicAccess,
          summary: "Readiness probe: 200 when this process should get traffic; 503 with a reason while a dependency is down or it drains",
          response: {
            200: z.object(readiness),
            503: z.union([
              z.object({ ...readiness, status: z.literal("error"), reason: z.string() }),
              z.object({ status: z.literal("draining"), reason: z.string() }),
            ]),
          },
        },
      },
      async (_request, reply) => {
        reply.header("Cache-Control", "no-store");
        if (checks.draining()) return reply.code(503).send(DRAINING);
        const [database, redis] = await Promise.all([
          probe(checks.database),
          checks.redis ? probe(checks.redis) : Promise.resolve("disabled" as const),
        ]);
        // Migrations ran before the process listened (buildApp): a process that answers is migrated.
        const body = { database, redis, migrations: "ok" as const };
        const down = [database === "error" && "database", redis === "error" && "redis"].filter(Boolean);
        if (down.length === 0) return reply.send({ status: "ok" as const, ...body });
        return reply.code(503).send({ status: "error" as const, ...body, reason: `${down.join(" and ")} not answering` });
      },
    );
    for (const path of ["/api/health/", "/api/v1/health/"]) {
      app.get(
        path,
        {
          schema: { tags: ["ops"], security: publicAccess, summary: "Liveness", response: { 200: z.object({ status: z.literal("ok") }) } },
        },
        async () => ({ status: "ok" as const }),
      );
    }
  };

/**
 * Request metrics plus Node's default process metrics on the app's registry; `/metrics` on the
 * public port unless the metrics have a port of their own (METRICS_PORT).
 */
export function installMetrics(app: FastifyInstance, registry: Registry, options: { publicEndpoint: boolean }): void {
  collectProcessMetrics(registry);
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by method and route",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    requests.inc({ method: request.method, route, status: reply.statusCode });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  if (!options.publicEndpoint) return;
  const handler = async (_request: unknown, reply: import("fastify").FastifyReply) =>
    reply.header("Content-Type", registry.contentType).send(await registry.metrics());
  app.get("/metrics", { schema: { hide: true } }, handler);
}
