/**
 * The Socket.IO transport: one namespace per room (`/room/<code>`), event name = message type,
 * acks `{ok}` / `{ok:false, error}`, refusals as connect_error with `data.code` (the close code).
 */
import type { Server as HttpServer } from "node:http";
import { type Namespace, Server, type ServerOptions, type Socket } from "socket.io";
import { BacklogWatch } from "./backlog.js";
import type { Admission, RoomHub } from "./hub.js";
import { EngineGate } from "./engine-gate.js";
import type { ConnectionGuard } from "./guard.js";
import { originAllowed } from "./origins.js";
import { type Ack, type ClientToServerEvents, CLOSE_CODES, MAX_FRAME_BYTES, type ServerMessage, type ServerToClientEvents } from "./protocol.js";
import type { CommandResult } from "../protocol/results.js";
import {
  type Connection,
  InvalidFrame,
  JoinRejected,
  resumeRequest,
  SLOW_CONSUMER_CUT_MS,
  type Transport,
} from "./types.js";

export const SOCKET_IO_PATH = "/socket.io/";
const namespaceOf = (roomCode: string) => `/room/${roomCode}`;
/** Disconnect reasons of a lost connection (the client did not say goodbye). */
const DROPPED = new Set(["transport close", "transport error", "ping timeout"]);
const ROOM_NAMESPACE = /^\/room\/[^/]{1,32}$/;
/** On shutdown, how long the last packets may take to reach the clients. */
const FINAL_FLUSH_MS = 2000;

/** The Socket.IO room of a namespace's resumable sockets (they get logged messages with their seq). */
const RESUMABLE = "~resumable";

interface SocketData {
  admission: Admission;
  /** Ends the socket's count as "being admitted" (see `admitting`). */
  admitted: () => void;
}
type RoomSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type EngineSocket = RoomSocket["conn"];

class SocketIoConnection implements Connection {
  readonly transport = "socket.io" as const;

  constructor(
    private readonly socket: RoomSocket,
    readonly resumable: boolean,
  ) {
    if (resumable) void socket.join(RESUMABLE);
  }

  get id(): string {
    return this.socket.id;
  }

  send(message: ServerMessage, seq?: number): void {
    (this.socket.emit as (event: string, payload: unknown) => boolean)(message.type, this.resumable && seq !== undefined ? { ...message, seq } : message);
  }

  sendEncoded(json: string, seq: number): void {
    this.send(JSON.parse(json) as ServerMessage, seq);
  }

  close(code: number, reason: string): void {
    this.send({ type: "CLOSE", code, reason });
    this.socket.disconnect(true);
  }

  /**
   * Bounds what the server holds for a client that stops reading. engine.io queues packets while
   * its transport is still writing the previous batch (a stalled TCP window keeps it so); the
   * bytes queued since the last flush are the backlog. Once it stays past `limit` (see
   * BacklogWatch) the client is dropped (CLOSE 4008, the transport closed without waiting for
   * the backlog to drain, the TCP connection cut a moment later) and reconnects to a fresh
   * snapshot.
   */
  boundSendBuffer(limit: number): void {
    const conn = this.socket.conn;
    let queued = 0;
    const watch = new BacklogWatch(limit, () => queued, () => {
      this.close(CLOSE_CODES.SLOW_CONSUMER, "Connection too slow: reconnect");
      conn.close(true);
      // The WebSocket close handshake cannot pass a stalled window either: cut the connection.
      setTimeout(() => conn.request.socket?.destroy(), SLOW_CONSUMER_CUT_MS).unref();
    });
    conn.on("packetCreate", (packet: { data?: unknown }) => {
      if (watch.dropped) return;
      const data = packet.data;
      queued += typeof data === "string" ? data.length : data instanceof Buffer ? data.byteLength : 16;
      watch.check();
    });
    conn.on("flush", () => {
      queued = 0;
      watch.check();
    });
    this.socket.once("disconnect", () => watch.stop());
  }
}

/** A refusal as socket.io's connect_error: `message` the reason code, `data` the close code and text. */
function refusal(rejection: JoinRejected): Error {
  const error = new Error(rejection.reason) as Error & { data: unknown };
  error.data = { code: rejection.closeCode, message: rejection.message };
  return error;
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
    /** The per-address budgets every engine.io connection counts against. */
    guard?: ConnectionGuard | undefined;
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
  const gate = new EngineGate(options.guard, options.trustProxy ?? false);
  io.engine.on("connection", (conn: EngineSocket) => {
    engineSockets.add(conn);
    conn.once("close", () => engineSockets.delete(conn));
    gate.track(conn);
  });
  // Only room namespaces (and the Admin UI's, which has its own login) are served: the root
  // namespace is refused, and any other name socket.io refuses itself ("Invalid namespace").
  io.of("/").use((_socket, next) => next(refusal(new JoinRejected(CLOSE_CODES.ROOM_NOT_FOUND, "ROOM_NOT_FOUND", "Connect to a room: /room/<code>"))));
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
    let entered: Awaited<ReturnType<EngineGate["enter"]>>;
    try {
      entered = await gate.enter(socket.conn);
    } catch (err) {
      next(refusal(err as JoinRejected));
      release(name);
      return;
    }
    count(name, 1);
    let counted = true;
    const admitted = () => {
      if (!counted) return;
      counted = false;
      count(name, -1);
      entered.gone.removeEventListener("abort", admitted);
    };
    // A connection that closes during admission is never connected: it is no longer being admitted.
    entered.gone.addEventListener("abort", admitted);
    const auth = socket.handshake.auth as { token?: unknown; resume?: unknown; resume_token?: unknown; last_seq?: unknown; wait?: unknown };
    const resume = resumeRequest(auth?.resume, auth?.resume_token, auth?.last_seq);
    const query = socket.handshake.query.token;
    const token = typeof auth?.token === "string" ? auth.token : typeof query === "string" ? query : null;
    try {
      // A pending user may wait for the host's answer: the connect completes once approved.
      const wait = auth?.wait === true ? { signal: entered.gone } : undefined;
      const admission = await hub.admit(token, socket.nsp.name.slice("/room/".length), entered.client, resume, wait);
      // One namespace per room across the cluster: the canonical (upper-case) code only.
      if (socket.nsp.name !== namespaceOf(admission.room.code)) {
        throw new JoinRejected(4002, "ROOM_NOT_FOUND", `Use the room code in upper case: ${namespaceOf(admission.room.code)}`);
      }
      // Gone meanwhile: socket.io will never connect it; refuse it so it is cleaned up here too.
      if (entered.gone.aborted) throw new JoinRejected(CLOSE_CODES.TRY_AGAIN_LATER, "SERVICE_UNAVAILABLE", "Connection closed");
      socket.data.admission = admission;
      socket.data.admitted = admitted;
      next();
    } catch (err) {
      // hub.admit turns every failure into a JoinRejected with a documented code.
      admitted();
      gate.leave(socket.conn);
      next(refusal(err as JoinRejected));
      release(name);
    }
  });

  rooms.on("connection", (socket: RoomSocket) => {
    socket.data.admitted();
    const admission = socket.data.admission;
    const connection = new SocketIoConnection(socket, admission.resume !== undefined);
    connection.boundSendBuffer(options.sendBufferBytes);

    // Messages of one socket run one at a time, in order, after the join sequence (which never
    // rejects: a failed join closes the connection with a documented code).
    let chain: Promise<unknown> = hub.enter(connection, admission);
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === "function" ? (args.pop() as (result: Ack) => void) : undefined;
      const payload = args[0] ?? {};
      // The same per-message limit as the raw path (the packet as received, read synchronously:
      // socket.io decodes and dispatches a packet before the next one is read).
      const frame =
        gate.lastMessageBytes(socket.conn) > MAX_FRAME_BYTES
          ? new InvalidFrame(`Message too large (limit ${MAX_FRAME_BYTES} bytes)`)
          : typeof payload === "object" && payload !== null && !Array.isArray(payload)
            ? { ...payload, type: event }
            : new InvalidFrame("The payload must be an object");
      chain = chain.then(async () => reply(connection, ack, await hub.handle(connection, frame).catch(() => null)));
    });
    // A lost transport may come back (resume); the client leaving or being removed does not.
    socket.on("disconnect", (reason) => {
      gate.leave(socket.conn);
      void hub.leave(connection, { dropped: DROPPED.has(reason) });
    });
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
    broadcast(roomCode, message, except, seq) {
      // This instance's sockets only: other instances get the room's messages as room events.
      const nsp = io._nsps.get(namespaceOf(roomCode));
      if (!nsp) return;
      const operator = nsp.local;
      const excluded = except && except.size > 0 ? [...except] : [];
      if (seq === undefined) {
        const target = excluded.length > 0 ? operator.except(excluded) : operator;
        (target.emit as (event: string, payload: unknown) => boolean)(message.type, message);
        return;
      }
      // Resumable sockets get the message with its log position.
      (operator.except([...excluded, RESUMABLE]).emit as (event: string, payload: unknown) => boolean)(message.type, message);
      const resumable = operator.to(RESUMABLE);
      ((excluded.length > 0 ? resumable.except(excluded) : resumable).emit as (event: string, payload: unknown) => boolean)(message.type, {
        ...message,
        seq,
      });
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
