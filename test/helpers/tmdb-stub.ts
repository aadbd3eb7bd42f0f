/** A local stand-in for TMDB's /search/multi, recording the requests it gets. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface TmdbStub {
  url: string;
  requests: URL[];
  /** What the next requests get: a status and a JSON body. */
  respond(status: number, body: unknown): void;
  close(): Promise<void>;
}

export async function startTmdbStub(): Promise<TmdbStub> {
  const requests: URL[] = [];
  let reply: { status: number; body: unknown } = { status: 200, body: { results: [] } };
  const server: Server = createServer((req, res) => {
    requests.push(new URL(req.url ?? "/", "http://stub"));
    res.writeHead(reply.status, { "content-type": "application/json" });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/3`,
    requests,
    respond(status, body) {
      reply = { status, body };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
