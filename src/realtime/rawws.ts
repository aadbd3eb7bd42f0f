/**
 * The raw WebSocket transport: `/ws/room/<code>/` and `/ws/v1/room/<code>/`, JSON text frames,
 * token in the query. The upgrade is always accepted for a well-formed path so that refusals
 * arrive as close codes clients can read (the original's were lost in a failed handshake).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import type { RoomHub } from "./hub.js";
import { clientAddress, type ConnectionGuard } from "./guard.js";
import { originAllowed } from "./origins.js";
import { BacklogWatch } from "./backlog.js";
import { CLOSE_CODES, MAX_FRAME_BYTES, type ServerMessage } from "./protocol.js";
import {
  type Connection,
  InvalidFrame,
  JoinRejected,
  type ResumeRequest,
  resumeRequest,
  SLOW_CONSUMER_CUT_MS,
  type Transport,
  withSeq,
} from "./types.js";

const PATH = /^\/ws(?:\/v1)?\/room\/([^/]{1,32})\/?$/;
const HEARTBEAT_MS = 30_000;

class RawConnection implements Connection {
  readonly id = `ws:${randomUUID()}`;
  readonly transport = "ws" as const;
  alive = true;
  private readonly backlog: BacklogWatch;

  constructor(
    readonly socket: WebSocket,
    sendBufferBytes: number,
    readonly resumable: boolean,
  ) {
    this.backlog = new BacklogWatch(sendBufferBytes, () => socket.bufferedAmount, () => {
      this.close(CLOSE_CODES.SLOW_CONSUMER, "Connection too slow: reconnect");
      setTimeout(() => this.socket.terminate(), SLOW_CONSUMER_CUT_MS).unref();
    });
    socket.once("close", () => this.backlog.stop());
  }

  send(message: ServerMessage, seq?: number): void {
    this.sendEncoded(JSON.stringify(message), seq);
  }

  sendEncoded(json: string, seq?: number): void {
    this.sendFrame(this.resumable ? withSeq(json, seq) : json);
  }

  /**
   * A broadcast passes its frame already UTF-8 encoded, once for every member. A client that
   * stops reading would make the server hold every frame of the room for it: once its backlog
   * stays past the bound (see BacklogWatch) it is closed (4008; cut a moment later if even the
   * close frame cannot get through) and reconnects to a fresh snapshot.
   */
  sendFrame(frame: string | Buffer): void {
    if (this.socket.readyState !== WebSocket.OPEN || this.backlog.dropped) return;
    this.socket.send(frame, { binary: false });
    this.backlog.check();
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code, closeReason(reason));
    }
  }
}

/** A close frame's reason holds at most 123 UTF-8 bytes (RFC 6455): longer ones are cut, with "…". */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = "";
  for (const char of reason) {
    if (Buffer.byteLength(cut + char) > 120) break;
    cut += char;
  }
  return `${cut}…`;
}

export interface RawTransport extends Transport {
  close(): void;
}

export function attachRawWebSocket(
  server: Server,
  hub: RoomHub,
  options: {
    allowedOrigins: readonly string[];
    socketIoPath: string;
    trustProxy?: boolean;
    /** Unsent bytes a connection may accumulate before it is closed as a slow consumer. */
    sendBufferBytes: number;
    /** The per-address budgets every accepted connection counts against. */
    guard?: ConnectionGuard | undefined;
  },
): RawTransport {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
  const rooms = new Map<string, Map<string, RawConnection>>();
  /** Pending users' connections waiting for the host's answer (pinged like members). */
  const waiting = new Set<RawConnection>();

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith(options.socketIoPath)) return; // engine.io's
    socket.on("error", () => socket.destroy());
    const match = PATH.exec(url.pathname);
    if (!match) return refuse(socket, 404, "Not Found");
    if (!originAllowed(req.headers.origin, options.allowedOrigins)) return refuse(socket, 403, "Forbidden");
    const token = url.searchParams.get("token");
    const client = clientAddress(req.headers, req.socket.remoteAddress, options.trustProxy ?? false);
    const resume = resumeRequest(url.searchParams.get("resume"), url.searchParams.get("resume_token"), url.searchParams.get("last_seq"));
    const wait = url.searchParams.get("wait") === "1";
    wss.handleUpgrade(req, socket, head, (ws) => void accept(ws, { code: match[1]!, token, client, resume, wait }));
  });

  async function accept(ws: WebSocket, handshake: Handshake): Promise<boolean> {
    const connection = new RawConnection(ws, options.sendBufferBytes, handshake.resume !== undefined);
    // Frames that arrive during admission wait for it; then they run one at a time, in order.
    // While a pending user waits for the host's answer, its frames are dropped instead.
    const ready = admitAndEnter(connection, handshake);
    let chain: Promise<boolean> = ready;
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (waiting.has(connection)) return;
      chain = chain.then((admitted) => (admitted ? process(connection, data, isBinary).then(() => true) : false));
    });
    ws.on("pong", () => {
      connection.alive = true;
    });
    ws.on("error", () => ws.terminate());
    return ready;
  }

  async function admitAndEnter(connection: RawConnection, { code, token, client, resume, wait }: Handshake): Promise<boolean> {
    const ws = connection.socket;
    // The address's slot is taken now (synchronously), before any await, and held until the close.
    const opened = options.guard?.open(client);
    try {
      const release = await opened;
      if (release) ws.once("close", release);
    } catch (err) {
      const rejection = err as JoinRejected;
      connection.close(rejection.closeCode, rejection.message);
      return false;
    }
    if (ws.readyState !== WebSocket.OPEN) return false;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    ws.once("close", onClose);
    const approval = wait
      ? {
          signal: gone.signal,
          onPending: (message: ServerMessage) => {
            waiting.add(connection);
            connection.send(message);
          },
        }
      : undefined;
    let admission;
    try {
      admission = await hub.admit(token, code, client, resume, approval);
    } catch (err) {
      // hub.admit turns every failure into a JoinRejected with a documented code.
      const rejection = err as JoinRejected;
      connection.close(rejection.closeCode, rejection.message);
      return false;
    } finally {
      waiting.delete(connection);
      ws.off("close", onClose);
    }
    if (ws.readyState !== WebSocket.OPEN) return false;
    const roomCode = admission.room.code;
    let members = rooms.get(roomCode);
    if (!members) {
      rooms.set(roomCode, (members = new Map()));
    }
    members.set(connection.id, connection);
    ws.on("close", (closeCode: number) => {
      const current = rooms.get(roomCode);
      current?.delete(connection.id);
      if (current?.size === 0) {
        rooms.delete(roomCode);
      }
      // 1001 (page unload, reload) and 1006 (the connection was lost) may come back; 1000 said goodbye.
      void hub.leave(connection, { dropped: closeCode === 1001 || closeCode === 1006 });
    });
    // Never rejects: a failed join closes the connection with a documented code.
    await hub.enter(connection, admission);
    return members.has(connection.id) && ws.readyState === WebSocket.OPEN;
  }

  async function process(connection: RawConnection, data: RawData, isBinary: boolean): Promise<void> {
    let frame: unknown;
    const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
    if (isBinary) frame = new InvalidFrame("Binary frames are not supported");
    else if (bytes > MAX_FRAME_BYTES) frame = new InvalidFrame(`Message too large (limit ${MAX_FRAME_BYTES} bytes)`);
    else {
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = new InvalidFrame("Malformed JSON");
      }
    }
    const result = await hub.handle(connection, frame).catch(() => null);
    if (result && !result.ok) connection.send({ type: "ERROR", ...result.error });
  }

  const beat = (connection: RawConnection) => {
    if (!connection.alive) return connection.socket.terminate();
    connection.alive = false;
    connection.socket.ping();
  };
  const heartbeat = setInterval(() => {
    for (const members of rooms.values()) for (const connection of members.values()) beat(connection);
    for (const connection of waiting) beat(connection);
  }, HEARTBEAT_MS).unref();

  /**
   * Encodes the frame once (twice for a logged message: resumable clients get its seq): the
   * members' sockets then write the same bytes.
   */
  function deliver(roomCode: string, text: string, except?: ReadonlySet<string>, seq?: number): void {
    const members = rooms.get(roomCode);
    if (!members) return;
    const frame = Buffer.from(text);
    let sequenced: Buffer | undefined;
    for (const connection of members.values()) {
      if (except?.has(connection.id)) continue;
      if (connection.resumable && seq !== undefined) connection.sendFrame((sequenced ??= Buffer.from(withSeq(text, seq))));
      else connection.sendFrame(frame);
    }
  }

  return {
    broadcast(roomCode, message, except, seq) {
      deliver(roomCode, JSON.stringify(message), except, seq);
    },
    close() {
      clearInterval(heartbeat);
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** What a client's upgrade request asked for. */
interface Handshake {
  code: string;
  token: string | null;
  /** The client's address. */
  client: string;
  resume: ResumeRequest | undefined;
  /** `wait=1`: a pending user waits for the host's answer. */
  wait: boolean;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
