/**
 * The door of the Socket.IO transport, at the level of engine.io connections (one TCP or
 * WebSocket connection, carrying any number of namespaces). Every engine.io connection counts
 * against its address's budgets whatever it asks for next, may carry a bounded number of rooms,
 * and is closed when it holds no room for a few seconds: connections that never join a room
 * (to `/`, to a namespace that is refused, or to none) cannot pile up.
 */

import { CLOSE_CODES } from "@streamit/protocol";
import type { Socket } from "socket.io";
import { type ConnectionGuard, clientAddress } from "./guard.js";
import { JoinRejected } from "./types.js";

type EngineSocket = Socket["conn"];

/** How long an engine.io connection may hold no room (not joined, not being admitted). */
export const ENGINE_IDLE_MS = 5000;
/** How long a connection refused by its address's budgets stays open to hear why. */
export const REFUSED_LINGER_MS = 1000;
/** Rooms (namespaces) one connection may be in or be entering at once. */
export const MAX_ROOMS_PER_CONNECTION = 5;

interface Entry {
  client: string;
  /** Settles once the address's budgets took the connection; rejects with JoinRejected. */
  opened: Promise<void>;
  release?: (() => void) | undefined;
  /** Namespaces joined or being admitted. */
  rooms: number;
  /** Namespace connects so far (the first one is the connection's own attempt). */
  connects: number;
  timer?: NodeJS.Timeout | undefined;
  /** The address's budgets refused it: it closes soon whatever it does. */
  refused: boolean;
  closed: boolean;
  /** Aborted when the connection closes (admissions waiting for approval stop waiting). */
  gone: AbortController;
  /** UTF-8 bytes of the last message packet (for the per-message limit). */
  lastMessageBytes: number;
}

export class EngineGate {
  private readonly entries = new WeakMap<EngineSocket, Entry>();

  constructor(
    private readonly guard: ConnectionGuard | undefined,
    private readonly trustProxy: boolean,
  ) {}

  /** A new engine.io connection. */
  track(conn: EngineSocket): void {
    const client = clientAddress(conn.request.headers, conn.remoteAddress, this.trustProxy);
    const entry: Entry = {
      client,
      opened: Promise.resolve(),
      rooms: 0,
      connects: 0,
      refused: false,
      closed: false,
      gone: new AbortController(),
      lastMessageBytes: 0,
    };
    this.entries.set(conn, entry);
    if (this.guard) {
      entry.opened = this.guard.open(client).then((release) => {
        if (entry.closed) release();
        else entry.release = release;
      });
      entry.opened.catch(() => {
        entry.refused = true;
        this.closeWhenIdle(conn, entry);
      });
    }
    conn.on("packet", (packet: { type: string; data?: unknown }) => {
      if (packet.type !== "message") return;
      const data = packet.data;
      entry.lastMessageBytes = typeof data === "string" ? Buffer.byteLength(data) : Buffer.isBuffer(data) ? data.byteLength : 0;
    });
    conn.once("close", () => {
      entry.closed = true;
      clearTimeout(entry.timer);
      entry.release?.();
      entry.gone.abort();
    });
    this.closeWhenIdle(conn, entry);
  }

  /**
   * A namespace connect on `conn` begins. Throws JoinRejected when the connection may not take
   * it (its address is over budget, too many rooms on it); otherwise the caller must `leave`.
   */
  async enter(conn: EngineSocket): Promise<{ client: string; gone: AbortSignal }> {
    const entry = this.entries.get(conn);
    if (!entry) throw new JoinRejected(CLOSE_CODES.TRY_AGAIN_LATER, "SERVICE_UNAVAILABLE", "Connection not ready, please reconnect");
    if (entry.rooms >= MAX_ROOMS_PER_CONNECTION) {
      throw new JoinRejected(CLOSE_CODES.TOO_MANY_CONNECTIONS, "RATE_LIMITED", `At most ${MAX_ROOMS_PER_CONNECTION} rooms per connection`);
    }
    entry.rooms += 1;
    if (!entry.refused) clearTimeout(entry.timer);
    try {
      await entry.opened;
      // The first connect is the connection's own attempt; every further one costs one more.
      entry.connects += 1;
      if (entry.connects > 1) await this.guard?.attempt(entry.client);
    } catch (err) {
      this.leave(conn);
      throw err;
    }
    return { client: entry.client, gone: entry.gone.signal };
  }

  /**
   * For a namespace with its own admission (the Admin UI's): refuses a connection its address's
   * budgets refused, and once a socket connected there, `hold` keeps the connection open until
   * that socket's `leave`.
   */
  async check(conn: EngineSocket): Promise<void> {
    const entry = this.entries.get(conn);
    if (!entry) throw new JoinRejected(CLOSE_CODES.TRY_AGAIN_LATER, "SERVICE_UNAVAILABLE", "Connection not ready, please reconnect");
    await entry.opened;
  }

  hold(conn: EngineSocket): void {
    const entry = this.entries.get(conn);
    if (!entry) return;
    entry.rooms += 1;
    clearTimeout(entry.timer);
  }

  /** A namespace socket left, or its admission failed. */
  leave(conn: EngineSocket): void {
    const entry = this.entries.get(conn);
    if (!entry) return;
    entry.rooms = Math.max(0, entry.rooms - 1);
    if (entry.rooms === 0) this.closeWhenIdle(conn, entry);
  }

  /** The size of the last message `conn` sent (the one being handled now). */
  lastMessageBytes(conn: EngineSocket): number {
    return this.entries.get(conn)?.lastMessageBytes ?? 0;
  }

  /** Closes the connection unless it holds a room by then (a refused one in any case, sooner). */
  private closeWhenIdle(conn: EngineSocket, entry: Entry): void {
    clearTimeout(entry.timer);
    if (entry.closed) return;
    entry.timer = setTimeout(
      () => {
        if (entry.rooms === 0 || entry.refused) conn.close();
      },
      entry.refused ? REFUSED_LINGER_MS : ENGINE_IDLE_MS,
    ).unref();
  }
}
