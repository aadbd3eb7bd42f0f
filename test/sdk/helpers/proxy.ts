/**
 * A TCP proxy in front of a test server, to take the network away from a client without its
 * knowing: `cut()` drops every connection through it (no close handshake: to both ends it is a
 * lost network), `refuse()` makes new connections fail until `accept()`.
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";

export interface TcpProxy {
  /** The base URL to give the client instead of the server's. */
  url: string;
  cut(): void;
  refuse(): void;
  accept(): void;
  close(): Promise<void>;
}

export async function proxyTo(baseUrl: string): Promise<TcpProxy> {
  const target = new URL(baseUrl);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    refuse: () => {
      refusing = true;
    },
    accept: () => {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
