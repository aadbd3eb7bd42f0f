/**
 * One Socket.IO client in a room namespace: event name = message type, and the slow-consumer
 * bound on what engine.io holds for it (see BacklogWatch).
 */

import { CLOSE_CODES, type ClientToServerEvents, type ServerMessage, type ServerToClientEvents } from "@streamit/protocol";
import type { Namespace, Server, Socket } from "socket.io";
import { BacklogWatch } from "./backlog.js";
import type { Admission } from "./hub.js";
import type { RealtimeMeter } from "./meter.js";
import { type Connection, SLOW_CONSUMER_CUT_MS } from "./types.js";

/** The Socket.IO room of a namespace's resumable sockets (they get logged messages with their seq). */
export const RESUMABLE = "~resumable";

export interface SocketData {
  admission: Admission;
  /** Ends the socket's count as "being admitted" (see RoomNamespaces). */
  admitted: () => void;
}
export type RoomServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type RoomNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type RoomSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type EngineSocket = RoomSocket["conn"];

export class SocketIoConnection implements Connection {
  readonly transport = "socket.io" as const;

  constructor(
    private readonly socket: RoomSocket,
    readonly resumable: boolean,
    readonly scheduledStarts: boolean,
    readonly deltaPresence: boolean,
    private readonly meter: RealtimeMeter,
  ) {
    if (resumable) void socket.join(RESUMABLE);
  }

  get id(): string {
    return this.socket.id;
  }

  send(message: ServerMessage, seq?: number): void {
    this.meter.sent(message.type, 1);
    (this.socket.emit as (event: string, payload: unknown) => boolean)(
      message.type,
      this.resumable && seq !== undefined ? { ...message, seq } : message,
    );
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
    const watch = new BacklogWatch(
      limit,
      () => queued,
      () => {
        this.meter.slowConsumer("socket.io");
        this.close(CLOSE_CODES.SLOW_CONSUMER, "Connection too slow: reconnect");
        conn.close(true);
        // The WebSocket close handshake cannot pass a stalled window either: cut the connection.
        setTimeout(() => conn.request.socket?.destroy(), SLOW_CONSUMER_CUT_MS).unref();
      },
    );
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
