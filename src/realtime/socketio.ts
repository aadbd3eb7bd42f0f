/**
 * The Socket.IO transport: one namespace per room (`/room/<code>`), event name = message type,
 * acks `{ok}` / `{ok:false, error}`, refusals as connect_error with `data.code` (the close code).
 */
import type { Server as HttpServer } from "node:http";
import { Server, type ServerOptions, type Socket } from "socket.io";
import type { Admission, RoomHub } from "./hub.js";
import { clientAddress } from "./guard.js";
import { originAllowed } from "./origins.js";
import { type Ack, type ClientToServerEvents, CLOSE_CODES, type ServerMessage, type ServerToClientEvents } from "./protocol.js";
import { type CommandResult, type Connection, InvalidFrame, JoinRejected, SLOW_CONSUMER_CUT_MS, type Transport } from "./types.js";

export const SOCKET_IO_PATH = "/socket.io/";
const namespaceOf = (roomCode: string) => `/room/${roomCode}`;
const ROOM_NAMESPACE = /^\/room\/[^/]{1,32}$/;
/** On shutdown, how long the last packets may take to reach the clients. */
const FINAL_FLUSH_MS = 2000;

interface SocketData {
  admission: Admission;
  /** Ends the socket's count as "being admitted" (see `admitting`). */
  admitted: () => void;
}
type RoomSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type EngineSocket = RoomSocket["conn"];

class SocketIoConnection implements Connection {
  readonly transport = "socket.io" as const;

  constructor(private readonly socket: RoomSocket) {}

  get id(): string {
    return this.socket.id;
  }

  send(message: ServerMessage): void {
    (this.socket.emit as (event: string, payload: unknown) => boolean)(message.type, message);
  }

  close(code: number, reason: string): void {
    this.send({ type: "CLOSE", code, reason });
    this.socket.disconnect(true);
  }

  /**
   * Bounds what the server holds for a client that stops reading. engine.io queues packets while
   * its transport is still writing the previous batch (a stalled TCP window keeps it so); past
   * `limit` bytes queued the client is dropped (CLOSE 4008, the transport closed without waiting
   * for the backlog to drain, the TCP connection cut a moment later) and reconnects to a fresh
   * snapshot.
   */
  boundSendBuffer(limit: number): void {
    const conn = this.socket.conn;
    let queued = 0;
    let dropped = false;
    conn.on("packetCreate", (packet: { data?: unknown }) => {
      const data = packet.data;
      queued += typeof data === "string" ? data.length : data instanceof Buffer ? data.byteLength : 16;
      if (queued <= limit || dropped) return;
      dropped = true;
      this.close(CLOSE_CODES.SLOW_CONSUMER, "Connection too slow: reconnect");
      conn.close(true);
      // The WebSocket close handshake cannot pass a stalled window either: cut the connection.
      setTimeout(() => conn.request.socket?.destroy(), SLOW_CONSUMER_CUT_MS).unref();
    });
    conn.on("flush", () => {
      queued = 0;
    });
  }
}

export interface SocketIoTransport extends Transport {
  io: Server;
  close(): Promise<void>;
}

export function attachSocketIo(
  server: HttpServer,
  hub: RoomHub,
  options: {
    allowedOrigins: readonly string[];
    adapter?: ServerOptions["adapter"] | undefined;
    trustProxy?: boolean;
    /** Unsent bytes a connection may accumulate before it is closed as a slow consumer. */
    sendBufferBytes: number;
  },
): SocketIoTransport {
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(server, {
    path: SOCKET_IO_PATH,
    serveClient: false,
    // The raw WebSocket transport owns its own upgrades; unknown paths are refused there.
    destroyUpgrade: false,
    maxHttpBufferSize: 64 * 1024,
    // Empty room namespaces are released by releaseRoom, which knows about sockets still being
    // admitted; socket.io's own cleanup does not, and dropped a namespace a joiner was entering.
    cleanupEmptyChildNamespaces: false,
    cors: {
      origin: (origin, callback) => callback(null, originAllowed(origin, options.allowedOrigins)),
      credentials: true,
    },
    allowRequest: (req, callback) => callback(null, originAllowed(req.headers.origin, options.allowedOrigins)),
    ...(options.adapter ? { adapter: options.adapter } : {}),
  });
  // engine.io connections still open (the final flush on shutdown waits for them).
  const engineSockets = new Set<EngineSocket>();
  io.engine.on("connection", (conn: EngineSocket) => {
    engineSockets.add(conn);
    conn.once("close", () => engineSockets.delete(conn));
  });
  const rooms = io.of(ROOM_NAMESPACE);
  const parent = rooms as unknown as { createChild(name: string): typeof rooms; children: Set<unknown> };
  // Sockets in admission per namespace: between the middleware and the connection event the
  // socket is in no namespace's list, and releasing the namespace then would strand it (joined
  // to a namespace no broadcast reaches).
  const admitting = new Map<string, number>();
  const count = (name: string, delta: number) => {
    const n = (admitting.get(name) ?? 0) + delta;
    if (n > 0) admitting.set(name, n);
    else admitting.delete(name);
  };
  function release(name: string): void {
    const nsp = io._nsps.get(name);
    if (!nsp || nsp.sockets.size > 0 || admitting.has(name)) return;
    void nsp.adapter.close();
    io._nsps.delete(nsp.name);
    parent.children.delete(nsp);
  }

  rooms.use(async (socket, next) => {
    const name = socket.nsp.name;
    count(name, 1);
    let counted = true;
    const admitted = () => {
      if (!counted) return;
      counted = false;
      count(name, -1);
      socket.conn.off("close", admitted);
    };
    socket.conn.once("close", admitted);
    const auth = socket.handshake.auth as { token?: unknown };
    const query = socket.handshake.query.token;
    const token = typeof auth?.token === "string" ? auth.token : typeof query === "string" ? query : null;
    try {
      const client = clientAddress(socket.handshake.headers, socket.conn.remoteAddress, options.trustProxy ?? false);
      const admission = await hub.admit(token, socket.nsp.name.slice("/room/".length), client);
      // One namespace per room across the cluster: the canonical (upper-case) code only.
      if (socket.nsp.name !== namespaceOf(admission.room.code)) {
        throw new JoinRejected(4002, "ROOM_NOT_FOUND", `Use the room code in upper case: ${namespaceOf(admission.room.code)}`);
      }
      socket.data.admission = admission;
      socket.data.admitted = admitted;
      next();
    } catch (err) {
      const rejection = err instanceof JoinRejected ? err : new JoinRejected(1011, "INTERNAL_ERROR", "Internal error");
      const error = new Error(rejection.reason) as Error & { data: unknown };
      error.data = { code: rejection.closeCode, message: rejection.message };
      admitted();
      next(error);
      release(name);
    }
  });

  rooms.on("connection", (socket: RoomSocket) => {
    socket.data.admitted();
    const connection = new SocketIoConnection(socket);
    connection.boundSendBuffer(options.sendBufferBytes);
    const admission = socket.data.admission;

    // Messages of one socket run one at a time, in order, after the join sequence.
    let chain: Promise<unknown> = hub.enter(connection, admission).catch(() => connection.close(1011, "Internal error"));
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === "function" ? (args.pop() as (result: Ack) => void) : undefined;
      const payload = args[0] ?? {};
      const frame =
        typeof payload === "object" && payload !== null && !Array.isArray(payload)
          ? { ...payload, type: event }
          : new InvalidFrame("The payload must be an object");
      chain = chain.then(async () => reply(connection, ack, await hub.handle(connection, frame).catch(() => null)));
    });
    socket.on("disconnect", () => void hub.leave(connection));
  });

  function reply(connection: SocketIoConnection, ack: ((result: Ack) => void) | undefined, result: CommandResult | null) {
    if (ack) {
      ack(
        result?.ok
          ? { ok: true, ...result.data }
          : { ok: false, error: result?.error ?? { code: "RATE_LIMITED", message: "Too many messages. Slow down." } },
      );
    } else if (result && !result.ok) {
      connection.send({ type: "ERROR", ...result.error });
    }
  }

  return {
    io,
    broadcast(roomCode, message, except, scope = "cluster") {
      const name = namespaceOf(roomCode);
      // A cluster broadcast needs the namespace here even without local sockets, so that its
      // adapter can publish it to the instances that have some.
      const nsp = io._nsps.get(name) ?? (scope === "cluster" && options.adapter ? parent.createChild(name) : undefined);
      if (!nsp) return;
      const operator = scope === "local" ? nsp.local : nsp;
      const target = except && except.size > 0 ? operator.except([...except]) : operator;
      (target.emit as (event: string, payload: unknown) => boolean)(message.type, message);
    },
    releaseRoom(roomCode) {
      release(namespaceOf(roomCode));
    },
    async close() {
      io.local.disconnectSockets(true);
      for (const nsp of io._nsps.values()) nsp.local.disconnectSockets(true);
      // A disconnected engine.io socket closes once its last packets (acks, CLOSE) are written;
      // closing the engine at once would discard them. Wait for that, but not for a client that
      // does not read.
      const closed = [...engineSockets].map((conn) => new Promise<void>((resolve) => conn.once("close", () => resolve())));
      await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, FINAL_FLUSH_MS).unref())]);
      io.engine.close();
    },
  };
}
