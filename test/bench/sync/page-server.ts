/**
 * The pages' own origin: the viewer pages, their script bundles and the video, from a tiny
 * node:http server. The video is served with byte ranges (206 Partial Content): Chromium seeks
 * in a media file by asking for ranges, and without them it can only play from the start.
 */
import { createReadStream, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Route = { type: string; body: string } | { type: string; file: string };

export interface PageServer {
  /** `http://127.0.0.1:<port>`: also the Origin the pages' sockets present to StreamIt. */
  origin: string;
  /** Path → what it serves; filled in by the harness, read on every request. */
  routes: Map<string, Route>;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const routes = new Map<string, Route>();
  const server = http.createServer((req, res) => {
    const route = routes.get(new URL(req.url ?? "/", "http://localhost").pathname);
    if (!route) res.writeHead(404).end();
    else if ("body" in route) res.writeHead(200, { "content-type": route.type, "cache-control": "no-store" }).end(route.body);
    else serveFile(req, res, route.file, route.type);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    routes,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Chromium keeps media connections alive; they would hold close() open.
        server.closeAllConnections();
      }),
  };
}

function serveFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, type: string): void {
  const size = statSync(file).size;
  const range = parseRange(req.headers.range, size);
  const headers = { "content-type": type, "accept-ranges": "bytes" };
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...headers, "content-range": `bytes */${size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...headers,
    "content-length": end - start + 1,
    ...(range ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(file, { start, end });
  stream.pipe(res);
  // A seek abandons the request it no longer needs: stop reading the file for it.
  res.once("close", () => stream.destroy());
}

/**
 * One `bytes=` range (RFC 9110 §14.1.2), clamped to the file. No header, a malformed one or a
 * multi-range request gets the whole file (a server may ignore Range); one past the end, 416.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    return suffix === 0 || size === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start >= size || start > end ? "unsatisfiable" : { start, end };
}
