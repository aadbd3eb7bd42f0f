/** The floor of the raw transport: a bare `ws` server that relays a host's frame to its room. */
import { createServer } from "node:http";
import { WebSocket, WebSocketServer } from "ws";

const rooms = new Map<string, Set<WebSocket>>();
const server = createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  const room = new URL(req.url ?? "/", "http://x").pathname;
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on("message", (data) => {
    const frame = data.toString();
    for (const member of members!) if (member.readyState === WebSocket.OPEN) member.send(frame);
  });
  ws.on("close", () => members!.delete(ws));
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`LISTENING ${(server.address() as { port: number }).port}`);
});
// Exit cleanly on SIGTERM (a profiled run writes its profile on the way out).
process.on("SIGTERM", () => process.exit(0));
