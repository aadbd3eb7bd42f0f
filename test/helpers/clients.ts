/**
 * Real realtime clients for tests: a raw `ws` client and a socket.io-client, behind one
 * interface that queues every server message so tests can await them in order. A client opened
 * during a test is closed after it by the test setup (open-clients.ts): a test closes a client
 * itself only when the close is part of what it checks (a leave, a last tab going).
 */
import { io as ioClient, type Socket } from "socket.io-client";
import WebSocket from "ws";
import { trackClient } from "./open-clients.js";

export type Message = { type: string } & Record<string, any>;

export interface TestClient {
  readonly kind: "ws" | "socket.io";
  /** Resolves when the server accepted the connection (raw: upgrade done; sio: connected). */
  readonly opened: Promise<void>;
  /** Resolves with the close code and reason (raw close frame; sio: CLOSE event or connect_error). */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Every message received so far, in order. */
  readonly received: Message[];
  /** The next unread message (optionally it must be of `type`). */
  next(type?: string, timeoutMs?: number): Promise<Message>;
  /** Skips unread messages until one of `type` arrives (the original's wait_for_event). */
  waitFor(type: string, timeoutMs?: number): Promise<Message>;
  /** The first unread message of each type, whatever their order (others stay unread). */
  waitForAll(types: string[], timeoutMs?: number): Promise<Message[]>;
  /** Asserts that no unread message (of `type`, if given) arrives within `ms`. */
  expectNone(ms: number, type?: string): Promise<void>;
  /** Reads the three join messages, whatever their order. */
  drainJoin(): Promise<Message[]>;
  send(message: Record<string, unknown>): void;
  close(): Promise<void>;
}

class Inbox {
  readonly received: Message[] = [];
  private readonly consumed = new Set<number>();
  private cursor = 0;
  private waiters: (() => void)[] = [];

  push(message: Message): void {
    this.received.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  }

  private advance(): void {
    while (this.consumed.has(this.cursor)) this.cursor += 1;
  }

  private async wait(deadline: number, label: string): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${label}; received ${JSON.stringify(this.received.slice(-5))}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async take(match: (m: Message) => boolean, skip: boolean, timeoutMs: number, label: string): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.advance();
      while (this.cursor < this.received.length) {
        const index = this.cursor;
        const message = this.received[index]!;
        this.consumed.add(index);
        this.advance();
        if (match(message)) return message;
        if (!skip) throw new Error(`expected ${label}, got ${JSON.stringify(message)}`);
      }
      await this.wait(deadline, label);
    }
  }

  /**
   * Reads the first unread message of each of `types`, in arrival order, leaving any other
   * message (a broadcast that was in flight when the client joined) unread for later.
   */
  async takeEach(types: string[], timeoutMs: number): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    const found = new Map<string, number>();
    for (;;) {
      for (let i = this.cursor; i < this.received.length && found.size < types.length; i += 1) {
        const type = this.received[i]!.type;
        if (!this.consumed.has(i) && types.includes(type) && !found.has(type)) found.set(type, i);
      }
      if (found.size === types.length) break;
      await this.wait(deadline, `join messages ${types}`);
    }
    const indexes = [...found.values()].sort((a, b) => a - b);
    for (const i of indexes) this.consumed.add(i);
    this.advance();
    return indexes.map((i) => this.received[i]!);
  }

  async none(ms: number, type: string | undefined): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const unread = this.received.filter((m, i) => i >= this.cursor && !this.consumed.has(i) && (!type || m.type === type));
    if (unread.length) throw new Error(`unexpected messages: ${JSON.stringify(unread)}`);
  }
}

function commonMethods(inbox: Inbox) {
  return {
    received: inbox.received,
    next: (type?: string, timeoutMs = 5000) => inbox.take((m) => !type || m.type === type, false, timeoutMs, type ?? "a message"),
    waitFor: (type: string, timeoutMs = 5000) => inbox.take((m) => m.type === type, true, timeoutMs, type),
    expectNone: (ms: number, type?: string) => inbox.none(ms, type),
    waitForAll: (types: string[], timeoutMs = 5000) => inbox.takeEach(types, timeoutMs),
    /** The three join messages; the joiner gets them in this order. */
    async drainJoin() {
      const got = await inbox.takeEach(["CHAT_HISTORY", "PLAYBACK_STATE", "ROOM_PARTICIPANTS"], 5000);
      const order = got.map((m) => m.type).join();
      if (order !== "CHAT_HISTORY,PLAYBACK_STATE,ROOM_PARTICIPANTS") throw new Error(`join messages out of order: ${order}`);
      return got;
    },
  };
}

export interface RawOptions {
  path?: string;
  origin?: string;
  /** Raw query string instead of ?token= */
  query?: string;
  /** Extra request headers (e.g. a balancer's sticky cookie). */
  headers?: Record<string, string>;
}

export function rawClient(
  baseUrl: string,
  code: string,
  token: string | null,
  opts: RawOptions = {},
): TestClient & { socket: WebSocket; sendRaw(data: string | Buffer, binary?: boolean): void } {
  const inbox = new Inbox();
  const path = opts.path ?? `/ws/room/${code}/`;
  const query = opts.query ?? (token === null ? "" : `?token=${encodeURIComponent(token)}`);
  const socket = new WebSocket(baseUrl.replace(/^http/, "ws") + path + query, {
    ...(opts.origin ? { origin: opts.origin } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  opened.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  socket.on("message", (data) => inbox.push(JSON.parse(data.toString())));
  socket.on("error", () => {});
  const client = {
    kind: "ws" as const,
    socket,
    opened,
    closed,
    ...commonMethods(inbox),
    send: (message: Record<string, unknown>) => socket.send(JSON.stringify(message)),
    sendRaw: (data: string | Buffer, binary = false) => socket.send(data, { binary }),
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closed;
    },
  };
  trackClient({ close: client.close, destroy: () => socket.terminate() }, closed);
  return client;
}

export function sioClient(
  baseUrl: string,
  code: string,
  token: string | null,
  opts: {
    origin?: string;
    queryToken?: boolean;
    auth?: Record<string, unknown>;
    /** Engine.IO transports (websocket only by default); with polling, cookies are kept (a balancer's sticky one). */
    transports?: ("polling" | "websocket")[];
    headers?: Record<string, string>;
  } = {},
): TestClient & {
  socket: Socket;
  emitAck(type: string, payload?: unknown, timeoutMs?: number): Promise<any>;
  connectError: Promise<Error & { data?: any }>;
} {
  const inbox = new Inbox();
  const socket = ioClient(`${baseUrl}/room/${code}`, {
    path: "/socket.io/",
    transports: opts.transports ?? ["websocket"],
    ...(opts.transports?.includes("polling") ? { withCredentials: true } : {}),
    forceNew: true,
    reconnection: false,
    ...(opts.queryToken ? { query: token ? { token } : {} } : { auth: { ...(token ? { token } : {}), ...opts.auth } }),
    ...(opts.origin || opts.headers ? { extraHeaders: { ...opts.headers, ...(opts.origin ? { origin: opts.origin } : {}) } } : {}),
  });
  let closeFrame: { code: number; reason: string } | undefined;
  socket.onAny((event: string, message: Message) => {
    if (event === "CLOSE") closeFrame = { code: message.code, reason: message.reason };
    inbox.push({ ...message, type: event });
  });
  const connectError = new Promise<Error & { data?: any }>((resolve) => socket.once("connect_error", resolve));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    void connectError.then(reject);
  });
  opened.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once("disconnect", (reason) => resolve(closeFrame ?? { code: 1000, reason }));
    void connectError.then((err) => resolve({ code: err.data?.code ?? 0, reason: err.message }));
  });
  const client = {
    kind: "socket.io" as const,
    socket,
    opened,
    closed,
    connectError,
    ...commonMethods(inbox),
    send: (message: Record<string, unknown>) => {
      const { type, ...payload } = message as { type: string };
      socket.emit(type, payload);
    },
    emitAck: (type: string, payload: unknown = {}, timeoutMs = 5000): Promise<any> => socket.timeout(timeoutMs).emitWithAck(type, payload),
    async close() {
      if (!socket.connected) {
        socket.disconnect();
        return;
      }
      const done = new Promise((r) => socket.once("disconnect", r));
      socket.disconnect();
      await done;
    },
  };
  trackClient(
    {
      close: client.close,
      destroy: () => {
        socket.disconnect();
        socket.io.engine?.close();
      },
    },
    closed,
  );
  return client;
}

export type ClientFactory = (baseUrl: string, code: string, token: string | null) => TestClient;
/** Both transports, for suites that must hold for each. */
export const transports: [string, ClientFactory][] = [
  ["ws", (b, c, t) => rawClient(b, c, t)],
  ["socket.io", (b, c, t) => sioClient(b, c, t)],
];
