/** The floor of Socket.IO: a bare server (dynamic namespace, websocket only) relaying to its room. */
import { createServer } from "node:http";
import { Server } from "socket.io";

const server = createServer();
const io = new Server(server, { transports: ["websocket"], serveClient: false });
io.of(/^\/room\/\w+$/).on("connection", (socket) => {
  socket.onAny((event, payload) => socket.nsp.emit(event, payload));
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`LISTENING ${(server.address() as { port: number }).port}`);
});
// Exit cleanly on SIGTERM (a profiled run writes its profile on the way out).
process.on("SIGTERM", () => process.exit(0));
