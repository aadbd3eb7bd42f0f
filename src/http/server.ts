/**
 * The HTTP server under Fastify, hardened against slow clients (slowloris): request headers,
 * upgrades included, must arrive within HTTP_HEADERS_TIMEOUT_MS (then 408 and the connection
 * closes; Node's default is 60 s, checked every 30 s), and one client address may hold at most
 * HTTP_PENDING_PER_CLIENT connections whose first request's headers are not complete yet
 * (more are cut at once). Behind a trusted proxy every connection comes from the proxy, so the
 * per-address cap is the proxy's to enforce (HAProxy's `timeout http-request`); the timeout holds.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { Duplex } from "node:stream";

/** How often Node looks for connections past their header or request time. */
const CHECK_INTERVAL_MS = 1000;

export interface SlowClientLimits {
  headersTimeoutMs: number;
  pendingPerClient: number;
  trustProxy: boolean;
}

export function createHardenedServer(handler: RequestListener, limits: SlowClientLimits): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // A whole request (headers and body) gets a little longer; bodies are at most 64 KB.
      requestTimeout: limits.headersTimeoutMs * 2,
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
    },
    handler,
  );
  if (!limits.trustProxy) boundPendingConnections(server, limits.pendingPerClient);
  return server;
}

/** Caps connections per address that have not completed their first request's headers. */
function boundPendingConnections(server: Server, perClient: number): void {
  const pending = new Map<string, number>();
  const settle = new WeakMap<Duplex, () => void>();
  server.on("connection", (socket: Duplex & { remoteAddress?: string }) => {
    const address = socket.remoteAddress ?? "unknown";
    const count = pending.get(address) ?? 0;
    if (count >= perClient) {
      socket.destroy();
      return;
    }
    pending.set(address, count + 1);
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      settle.delete(socket);
      const left = (pending.get(address) ?? 1) - 1;
      if (left <= 0) pending.delete(address);
      else pending.set(address, left);
    };
    settle.set(socket, done);
    socket.once("close", done);
  });
  const headersDone = (req: IncomingMessage) => settle.get(req.socket)?.();
  server.on("request", headersDone);
  server.on("upgrade", headersDone);
}
