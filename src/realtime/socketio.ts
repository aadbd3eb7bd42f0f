/**
 * The Socket.IO transport: one namespace per room (`/room/<code>`), event name = message type,
 * acks `{ok}` / `{ok:false, error}`, refusals as connect_error with `data.code` (the close code).
 */
import type { Server as HttpServer } from "node:http";
import {
  type Ack,
  CLOSE_CODES,
  type ClientToServerEvents,
  MAX_FRAME_BYTES,
  type ServerMessage,
  type ServerToClientEvents,
} from "@streamit/protocol";
import { type Namespace, Server, type ServerOptions, type Socket } from "socket.io";
import type { CommandResult } from "../protocol/results.js";
import { EngineGate } from "./engine-gate.js";
import type { ConnectionGuard } from "./guard.js";
import type { RoomHub } from "./hub.js";
import { originAllowed } from "./origins.js";
import { refusal, roomAdmission } from "./socketio-admission.js";
import {
  type EngineSocket,
  RESUMABLE,
  type RoomNamespace,
  type RoomServer,
  type RoomSocket,
  type SocketData,
  SocketIoConnection,
} from "./socketio-connection.js";
import { namespaceOf, ROOM_NAMESPACE, RoomNamespaces } from "./socketio-namespaces.js";
import { InvalidFrame, JoinRejected, type Transport } from "./types.js";

export const SOCKET_IO_PATH = "/socket.io/";
/** Disconnect reasons of a lost connection (the client did not say goodbye). */
const DROPPED = new Set(["transport close", "transport error", "ping timeout"]);
/** On shutdown, how long the last packets may take to reach the clients. */
const FINAL_FLUSH_MS = 2000;

export interface SocketIoTransport extends Transport {
  openConnections(): Record<string, number>;
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
    /** The per-address budgets every engine.io connection counts against. */
    guard?: ConnectionGuard | undefined;
  },
): SocketIoTransport {
  const io = createServer(server, options.allowedOrigins, options.adapter);
  // engine.io connections still open (the final flush on shutdown waits for them).
  const engineSockets = new Set<EngineSocket>();
  const gate = new EngineGate(options.guard, options.trustProxy ?? false);
  io.engine.on("connection", (conn: EngineSocket) => {
    engineSockets.add(conn);
    conn.once("close", () => engineSockets.delete(conn));
    gate.track(conn);
  });
  guardOtherNamespaces(io, gate);
  const rooms = io.of(ROOM_NAMESPACE);
  const namespaces = new RoomNamespaces(io, rooms);
  rooms.use(roomAdmission(hub, gate, namespaces));
  rooms.on("connection", (socket: RoomSocket) => serveRoomSocket(socket, hub, gate, options.sendBufferBytes));

  return {
    io,
    broadcast(roomCode, message, except, seq) {
      // This instance's sockets only: other instances get the room's messages as room events.
      const nsp = io._nsps.get(namespaceOf(roomCode));
      if (!nsp) return;
      broadcastLocal(nsp, message, except, seq);
      let excluded = 0;
      for (const id of except ?? []) if (nsp.sockets.has(id)) excluded++;
      hub.meter.sent(message.type, nsp.sockets.size - excluded);
    },
    openConnections() {
      // engine.io connections, by the wire each is on now (an upgraded one counts as websocket).
      const counts: Record<string, number> = { "socket.io/polling": 0, "socket.io/websocket": 0 };
      for (const conn of engineSockets) {
        const wire = `socket.io/${conn.transport.name}`;
        counts[wire] = (counts[wire] ?? 0) + 1;
      }
      return counts;
    },
    releaseRoom(roomCode) {
      namespaces.release(namespaceOf(roomCode));
    },
    close: () => closeGracefully(io, engineSockets),
  };
}

function createServer(server: HttpServer, allowedOrigins: readonly string[], adapter: ServerOptions["adapter"] | undefined): RoomServer {
  return new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(server, {
    path: SOCKET_IO_PATH,
    serveClient: false,
    // The raw WebSocket transport owns its own upgrades; unknown paths are refused there.
    destroyUpgrade: false,
    maxHttpBufferSize: 64 * 1024,
    // Empty room namespaces are released by releaseRoom, which knows about sockets still being
    // admitted; socket.io's own cleanup does not, and dropped a namespace a joiner was entering.
    cleanupEmptyChildNamespaces: false,
    cors: {
      origin: (origin, callback) => callback(null, originAllowed(origin, allowedOrigins)),
      credentials: true,
    },
    allowRequest: (req, callback) => callback(null, originAllowed(req.headers.origin, allowedOrigins, req.headers.host)),
    ...(adapter ? { adapter } : {}),
  });
}

/**
 * Only room namespaces (and the Admin UI's, which has its own login) are served: the root
 * namespace is refused, and any other name socket.io refuses itself ("Invalid namespace").
 */
function guardOtherNamespaces(io: RoomServer, gate: EngineGate): void {
  io.of("/").use((_socket, next) =>
    next(refusal(new JoinRejected(CLOSE_CODES.ROOM_NOT_FOUND, "ROOM_NOT_FOUND", "Connect to a room: /room/<code>"))),
  );
  io.of("/").on("new_namespace", (nsp: Namespace) => {
    if (ROOM_NAMESPACE.test(nsp.name)) return;
    // The Admin UI's namespace: its connections hold their engine.io connection like a room's.
    nsp.use((socket, next) => {
      gate.check(socket.conn).then(
        () => next(),
        (err: JoinRejected) => next(refusal(err)),
      );
    });
    nsp.on("connection", (socket: Socket) => {
      gate.hold(socket.conn);
      socket.once("disconnect", () => gate.leave(socket.conn));
    });
  });
}

/** `auth.schedule: true` (or a `schedule=1` query): the client holds scheduled starts itself. */
function scheduleAware(socket: RoomSocket): boolean {
  const auth = socket.handshake.auth as { schedule?: unknown } | undefined;
  return auth?.schedule === true || socket.handshake.query.schedule === "1";
}

/** `auth.presence: "delta"` (or a `presence=delta` query): the client keeps its roster from deltas. */
function deltaPresence(socket: RoomSocket): boolean {
  const auth = socket.handshake.auth as { presence?: unknown } | undefined;
  return auth?.presence === "delta" || socket.handshake.query.presence === "delta";
}

/** An admitted socket: runs the join, then its messages, until it disconnects. */
function serveRoomSocket(socket: RoomSocket, hub: RoomHub, gate: EngineGate, sendBufferBytes: number): void {
  socket.data.admitted();
  const admission = socket.data.admission;
  const connection = new SocketIoConnection(
    socket,
    admission.resume !== undefined,
    scheduleAware(socket),
    deltaPresence(socket),
    hub.meter,
  );
  connection.boundSendBuffer(sendBufferBytes);

  // Messages of one socket run one at a time, in order, after the join sequence (which never
  // rejects: a failed join closes the connection with a documented code).
  let chain: Promise<unknown> = hub.enter(connection, admission);
  socket.onAny((event: string, ...args: unknown[]) => {
    const ack = typeof args.at(-1) === "function" ? (args.pop() as (result: Ack) => void) : undefined;
    const payload = args[0] ?? {};
    // The same per-message limit as the raw path (the packet as received, read synchronously:
    // socket.io decodes and dispatches a packet before the next one is read).
    const frame = decodeEvent(event, payload, gate.lastMessageBytes(socket.conn));
    chain = chain.then(async () => reply(connection, ack, await hub.handle(connection, frame).catch(() => null)));
  });
  // A lost transport may come back (resume); the client leaving or being removed does not.
  socket.on("disconnect", (reason) => {
    gate.leave(socket.conn);
    void hub.leave(connection, { dropped: DROPPED.has(reason) });
  });
}

/** A client event as the hub takes it: its payload with the event name as type, or an InvalidFrame. */
function decodeEvent(event: string, payload: unknown, bytes: number): unknown {
  if (bytes > MAX_FRAME_BYTES) return new InvalidFrame(`Message too large (limit ${MAX_FRAME_BYTES} bytes)`);
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) return { ...payload, type: event };
  return new InvalidFrame("The payload must be an object");
}

/** Answers a command: through its ack when the client asked for one, else an ERROR if it failed. */
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

/** Emits to the namespace's sockets on this instance, minus `except` (a logged message in two groups, see RESUMABLE). */
function broadcastLocal(nsp: RoomNamespace, message: ServerMessage, except: ReadonlySet<string> | undefined, seq: number | undefined) {
  const operator = nsp.local;
  const excluded = except && except.size > 0 ? [...except] : [];
  if (seq === undefined) {
    const target = excluded.length > 0 ? operator.except(excluded) : operator;
    emit(target, message.type, message);
    return;
  }
  // Resumable sockets get the message with its log position.
  emit(operator.except([...excluded, RESUMABLE]), message.type, message);
  const resumable = operator.to(RESUMABLE);
  emit(excluded.length > 0 ? resumable.except(excluded) : resumable, message.type, { ...message, seq });
}

/** The typed `emit` takes only the protocol's event names: a message is emitted by its type. */
function emit(target: { emit: unknown }, event: string, payload: unknown): void {
  (target.emit as (event: string, payload: unknown) => boolean).call(target, event, payload);
}

/**
 * Disconnects every socket, then closes engine.io once the connections wrote their last packets
 * (or FINAL_FLUSH_MS passed).
 */
async function closeGracefully(io: RoomServer, engineSockets: ReadonlySet<EngineSocket>): Promise<void> {
  io.local.disconnectSockets(true);
  for (const nsp of io._nsps.values()) nsp.local.disconnectSockets(true);
  // A disconnected engine.io socket closes once its last packets (acks, CLOSE) are written;
  // closing the engine at once would discard them. Wait for that, but not for a client that
  // does not read.
  const closed = [...engineSockets].map((conn) => new Promise<void>((resolve) => conn.once("close", () => resolve())));
  await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, FINAL_FLUSH_MS).unref())]);
  io.engine.close();
}
