/**
 * Load shedding: while the event loop is saturated (or memory is past a set bound), HTTP requests
 * get 503 SERVICE_UNAVAILABLE with Retry-After instead of queueing behind the backlog
 * (@fastify/under-pressure samples the mean event-loop delay every second). Health and metrics
 * are never shed: they are how an operator or a load balancer sees the pressure.
 */
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import { AppError } from "../errors.js";

export interface LoadLimits {
  /** Mean event-loop delay (ms) over a second past which requests are shed (0 = off). */
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  maxRssBytes: number;
}

const RETRY_AFTER_SECONDS = 2;
const NEVER_SHED = new Set(["/livez", "/readyz", "/health/", "/api/health/", "/api/v1/health/", "/metrics"]);

export async function installLoadShedding(http: FastifyInstance, limits: LoadLimits): Promise<void> {
  await http.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    maxRssBytes: limits.maxRssBytes,
    retryAfter: RETRY_AFTER_SECONDS,
    pressureHandler: async (request, _reply, type) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? "")) return;
      request.log.warn({ pressure: type }, "request shed: the server is under pressure");
      throw new AppError("SERVICE_UNAVAILABLE", "The server is overloaded, please retry", { retryAfterSeconds: RETRY_AFTER_SECONDS });
    },
  });
}

/** The process's load as /health/ reports it. */
export function loadState(http: FastifyInstance): { event_loop_delay_ms: number; event_loop_utilization: number; under_pressure: boolean } {
  const usage = http.memoryUsage();
  return {
    event_loop_delay_ms: Math.round(usage.eventLoopDelay * 10) / 10,
    event_loop_utilization: Math.round(usage.eventLoopUtilized * 1000) / 1000,
    under_pressure: http.isUnderPressure(),
  };
}
