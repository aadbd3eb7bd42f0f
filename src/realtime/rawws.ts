/**
 * The raw WebSocket transport: `/ws/room/<code>/` and `/ws/v1/room/<code>/`, JSON text frames,
 * token in the query. The upgrade is always accepted for a well-formed path so that refusals
 * arrive as close codes clients can read (the original's were lost in a failed handshake).
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { MAX_FRAME_BYTES, type ServerMessage } from "@streamit/protocol";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import type { ConnectionGuard } from "./guard.js";
import type { Admission, ApprovalWait, RoomHub } from "./hub.js";
import { RawConnection } from "./rawws-connection.js";
import { type Handshake, readHandshake, refuse } from "./rawws-handshake.js";
import { InvalidFrame, type JoinRejected, type Transport, withSeq } from "./types.js";

export { closeReason } from "./rawws-connection.js";

const HEARTBEAT_MS = 30_000;

export interface RawTransport extends Transport {
  openConnections(): Record<string, number>;
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
  const rooms = new RawRooms(hub, options);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => rooms.upgrade(req, socket, head));
  const heartbeat = setInterval(() => rooms.heartbeat(), HEARTBEAT_MS).unref();
  return {
    broadcast(roomCode, message, except, seq) {
      hub.meter.sent(message.type, rooms.deliver(roomCode, JSON.stringify(message), except, seq));
    },
    openConnections: () => ({ ws: rooms.openConnections }),
    close() {
      clearInterval(heartbeat);
      rooms.close();
    },
  };
}

type RawWebSocketOptions = Parameters<typeof attachRawWebSocket>[2];

/** The transport's connections: each room's members, and the pending users waiting for the host. */
class RawRooms {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
  private readonly rooms = new Map<string, Map<string, RawConnection>>();
  /** Pending users' connections waiting for the host's answer (pinged like members). */
  private readonly waiting = new Set<RawConnection>();

  constructor(
    private readonly hub: RoomHub,
    private readonly options: RawWebSocketOptions,
  ) {}

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith(this.options.socketIoPath)) return; // engine.io's
    socket.on("error", () => socket.destroy());
    const handshake = readHandshake(req, url, this.options);
    if ("status" in handshake) refuse(socket, handshake);
    else this.wss.handleUpgrade(req, socket, head, (ws) => void this.accept(ws, handshake));
  }

  private async accept(ws: WebSocket, handshake: Handshake): Promise<boolean> {
    const connection = new RawConnection(
      ws,
      this.options.sendBufferBytes,
      handshake.resume !== undefined,
      handshake.schedule,
      handshake.deltaPresence,
      this.hub.meter,
    );
    // Frames that arrive during admission wait for it; then they run one at a time, in order.
    // While a pending user waits for the host's answer, its frames are dropped instead.
    const ready = this.admitAndEnter(connection, handshake);
    let chain: Promise<boolean> = ready;
    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (this.waiting.has(connection)) return;
      chain = chain.then((admitted) => (admitted ? this.handleFrame(connection, data, isBinary).then(() => true) : false));
    });
    ws.on("pong", () => {
      connection.alive = true;
    });
    ws.on("error", () => ws.terminate());
    return ready;
  }

  /** Takes the address's slot, admits the client and runs the join; true if it is in the room. */
  private async admitAndEnter(connection: RawConnection, { code, token, client, resume, wait }: Handshake): Promise<boolean> {
    const ws = connection.socket;
    // The address's slot is taken now (synchronously), before any await, and held until the close.
    const opened = this.options.guard?.open(client);
    try {
      const release = await opened;
      if (release) ws.once("close", release);
    } catch (err) {
      return closeRejected(connection, err);
    }
    if (ws.readyState !== WebSocket.OPEN) return false;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    ws.once("close", onClose);
    const approval = wait ? this.approvalWait(connection, gone.signal) : undefined;
    let admission: Admission;
    try {
      admission = await this.hub.admit(token, code, client, resume, approval);
    } catch (err) {
      // hub.admit turns every failure into a JoinRejected with a documented code.
      return closeRejected(connection, err);
    } finally {
      this.waiting.delete(connection);
      ws.off("close", onClose);
    }
    if (ws.readyState !== WebSocket.OPEN) return false;
    const members = this.join(connection, admission.room.code);
    // Never rejects: a failed join closes the connection with a documented code.
    await this.hub.enter(connection, admission);
    return members.has(connection.id) && ws.readyState === WebSocket.OPEN;
  }

  /** `wait=1`: while the host decides, the connection is pinged and its frames are dropped. */
  private approvalWait(connection: RawConnection, signal: AbortSignal): ApprovalWait {
    return {
      signal,
      onPending: (message: ServerMessage) => {
        this.waiting.add(connection);
        connection.send(message);
      },
    };
  }

  /** Makes an admitted connection a member of its room until it closes; returns the room's members. */
  private join(connection: RawConnection, roomCode: string): Map<string, RawConnection> {
    let members = this.rooms.get(roomCode);
    if (!members) {
      this.rooms.set(roomCode, (members = new Map()));
    }
    members.set(connection.id, connection);
    connection.socket.on("close", (closeCode: number) => {
      const current = this.rooms.get(roomCode);
      current?.delete(connection.id);
      if (current?.size === 0) {
        this.rooms.delete(roomCode);
      }
      // 1001 (page unload, reload) and 1006 (the connection was lost) may come back; 1000 said goodbye.
      void this.hub.leave(connection, { dropped: closeCode === 1001 || closeCode === 1006 });
    });
    return members;
  }

  /** Decodes one client frame, has the hub handle it and replies to a refused command with an ERROR. */
  private async handleFrame(connection: RawConnection, data: RawData, isBinary: boolean): Promise<void> {
    const frame = decodeFrame(data, isBinary);
    const result = await this.hub.handle(connection, frame).catch(() => null);
    if (result && !result.ok) connection.send({ type: "ERROR", ...result.error });
  }

  heartbeat(): void {
    for (const members of this.rooms.values()) for (const connection of members.values()) beat(connection);
    for (const connection of this.waiting) beat(connection);
  }

  /**
   * Encodes the frame once (twice for a logged message: resumable clients get its seq): the
   * members' sockets then write the same bytes.
   */
  /** Every accepted WebSocket still open (ws tracks them). */
  get openConnections(): number {
    return this.wss.clients.size;
  }

  /** Sends a broadcast's frame to the room's members here; returns how many it went to. */
  deliver(roomCode: string, text: string, except?: ReadonlySet<string>, seq?: number): number {
    const members = this.rooms.get(roomCode);
    if (!members) return 0;
    const frame = Buffer.from(text);
    let sequenced: Buffer | undefined;
    let sent = 0;
    for (const connection of members.values()) {
      if (except?.has(connection.id)) continue;
      if (connection.resumable && seq !== undefined) connection.sendFrame((sequenced ??= Buffer.from(withSeq(text, seq))));
      else connection.sendFrame(frame);
      sent++;
    }
    return sent;
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

/** A client frame as the hub takes it: the parsed JSON, or an InvalidFrame saying what is wrong. */
function decodeFrame(data: RawData, isBinary: boolean): unknown {
  const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
  if (isBinary) return new InvalidFrame("Binary frames are not supported");
  if (bytes > MAX_FRAME_BYTES) return new InvalidFrame(`Message too large (limit ${MAX_FRAME_BYTES} bytes)`);
  try {
    return JSON.parse(data.toString());
  } catch {
    return new InvalidFrame("Malformed JSON");
  }
}

/** Pings a connection; one that did not answer the previous ping is cut. */
function beat(connection: RawConnection): void {
  if (!connection.alive) {
    connection.socket.terminate();
    return;
  }
  connection.alive = false;
  connection.socket.ping();
}

/** Closes a refused connection with the rejection's documented code. */
function closeRejected(connection: RawConnection, err: unknown): false {
  const rejection = err as JoinRejected;
  connection.close(rejection.closeCode, rejection.message);
  return false;
}
