/** A local stand-in for an oEmbed endpoint (YouTube's), counting and recording the requests it gets. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface OembedStub {
  url: string;
  requests: URL[];
  /** What the next requests get: a status and a JSON body (a function: per request); `hang`: no answer at all. */
  respond(status: number, body: unknown | ((request: URL) => unknown)): void;
  hang(): void;
  close(): Promise<void>;
}

export async function startOembedStub(): Promise<OembedStub> {
  const requests: URL[] = [];
  let reply: { status: number; body: unknown } | "hang" = { status: 200, body: { type: "video", title: "A video" } };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    requests.push(url);
    if (reply === "hang") return;
    const body = typeof reply.body === "function" ? (reply.body as (request: URL) => unknown)(url) : reply.body;
    res.writeHead(reply.status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oembed`,
    requests,
    respond(status, body) {
      reply = { status, body };
    },
    hang() {
      reply = "hang";
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
