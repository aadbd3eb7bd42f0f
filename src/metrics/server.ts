/**
 * `/metrics` on a port of its own (METRICS_PORT): Prometheus reaches it inside the network while
 * the public port, behind the load balancer, does not expose it. The worker uses it too.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface MetricsServer {
  /** The bound port (METRICS_PORT=0 takes a free one). */
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMetrics(registry: Registry, port: number, host: string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not found: /metrics is the only path here\n");
      return;
    }
    registry.metrics().then(
      (text) =>
        res
          .writeHead(200, { "Content-Type": registry.contentType, "Cache-Control": "no-store" })
          .end(req.method === "HEAD" ? undefined : text),
      (err: unknown) => res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
