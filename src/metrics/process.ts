/** Node's process metrics (prom-client's defaults), as every StreamIt process exports them. */
import { collectDefaultMetrics, type Registry } from "prom-client";

/**
 * prom-client's gauges that end in `_total` (promtool: "non-counter metrics should not have
 * _total suffix"; prometheus/client_js#283, still open). Their per-type gauges stay: the total
 * is `sum without (type) (nodejs_active_handles)`.
 */
const MISNAMED = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) registry.removeSingleMetric(name);
}
