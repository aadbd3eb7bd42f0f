/**
 * One room's Socket.IO connection, kept up: it reconnects with a jittered backoff (Socket.IO's
 * own reconnection is off, since it neither knows which refusals are final nor resumes a
 * session), resumes the session where it left off, and drops replayed duplicates. Everything
 * else (what the messages mean) is the Room's.
 */
import type { Ack, ClientMessageType, ClientToServerEvents, ServerMessageType, ServerToClientEvents } from "@streamit/protocol";
import { io, type Socket } from "socket.io-client";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { RoomError } from "./errors.js";
import { type Ending, verdictFor } from "./refusals.js";
import { type SessionInfo, SessionLog } from "./session.js";
import { type Clocks, type Scheduler, systemClocks, systemScheduler } from "./timers.js";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "closed";

export interface ClosedInfo {
  /** The close code (docs/protocol.md), or 1000 for a close of our own. */
  code: number;
  reason: string;
  /** The reason code of a refusal (BANNED, ROOM_NOT_FOUND, …), when the server gave one. */
  error?: string | undefined;
}

export interface ConnectionOptions {
  /** The server's base URL (`https://watch.example`). */
  url: string;
  /** The room's code. */
  code: string;
  /** The access token for the next connect. */
  token: () => Promise<string>;
  /** `token` can give a fresh token when the current one expired (a provider, not a fixed token). */
  canRenewToken: boolean;
  /** Ask for a resumable session (default true). */
  resume?: boolean;
  /** In an approval room, wait for the host's answer instead of being refused (default false). */
  wait?: boolean;
  /** Socket.IO transports (default websocket only: no sticky sessions needed). */
  transports?: ("websocket" | "polling" | "webtransport")[];
  backoff?: BackoffOptions;
  clocks?: Clocks;
  scheduler?: Scheduler;
}

type ConnectionEvents = {
  status: (status: ConnectionStatus) => void;
  /** A server message, duplicates removed. */
  message: (type: ServerMessageType, payload: Record<string, unknown>) => void;
  /** Connected (again); `token` is the one it presented. */
  open: (token: string) => void;
  /** The connection dropped; a reconnect is scheduled in `delayMs`. */
  reconnecting: (info: { attempt: number; delayMs: number; code?: number | undefined; error?: string | undefined }) => void;
  /** The end: a final refusal or removal, or close(). */
  closed: (info: ClosedInfo) => void;
};

export type RoomSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The untyped side of the socket: the SDK emits by type name, checked at its own API. */
interface UntypedSocket {
  timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> };
}

export class Connection {
  private readonly opts: ConnectionOptions;
  private readonly clocks: Clocks;
  private readonly scheduler: Scheduler;
  private readonly events = new Emitter<ConnectionEvents>();
  private readonly backoff: Backoff;
  readonly session = new SessionLog();
  private readonly socket: RoomSocket;
  private state: ConnectionStatus = "connecting";
  private retryTimer: unknown;
  /** The CLOSE the server sent before its disconnect. */
  private lastClose: { code: number; reason: string } | undefined;
  /** 4001s in a row: a fresh token refused again means it will not work. */
  private authFailures = 0;
  /** Bumped by every attempt and by close(): a slow token fetch of an old attempt is dropped. */
  private attemptId = 0;
  /** The token of the latest attempt (the Room reads its expiry). */
  private currentToken = "";

  constructor(options: ConnectionOptions) {
    this.opts = options;
    this.clocks = options.clocks ?? systemClocks;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.backoff = new Backoff(options.backoff);
    const base = options.url.replace(/\/+$/, "");
    this.socket = io(`${base}/room/${options.code.toUpperCase()}`, {
      autoConnect: false,
      reconnection: false,
      // A Manager of its own: closing this room must not close another room's socket.
      forceNew: true,
      transports: options.transports ?? ["websocket"],
    });
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("connect_error", (err) => this.onConnectError(err));
    this.socket.on("disconnect", (reason) => this.onDisconnect(reason));
    this.socket.onAny((event: string, payload: unknown) => this.onMessage(event, payload));
  }

  get status(): ConnectionStatus {
    return this.state;
  }

  get connected(): boolean {
    return this.state === "connected" && this.socket.connected;
  }

  on<K extends keyof ConnectionEvents>(event: K, handler: ConnectionEvents[K]): () => void {
    return this.events.on(event, handler);
  }

  /** Starts connecting (once). */
  open(): void {
    void this.attempt();
  }

  /** Emits `type` with `payload` and resolves with the ack; rejects only when no ack came. */
  async request(type: ClientMessageType, payload: Record<string, unknown>, timeoutMs: number): Promise<Ack> {
    if (this.state === "closed") throw new RoomError("CLOSED", "The room connection is closed");
    // Socket.IO would buffer it until the next connect: a stale command then, sent unasked.
    if (!this.connected) throw new RoomError("DISCONNECTED", "Not connected");
    try {
      return (await (this.socket as unknown as UntypedSocket).timeout(timeoutMs).emitWithAck(type, payload)) as Ack;
    } catch {
      // Read again: the state may have changed while the ack was awaited.
      if (this.status === "closed") throw new RoomError("CLOSED", "The room connection is closed");
      throw this.connected
        ? new RoomError("TIMEOUT", `No answer to ${type} within ${timeoutMs} ms`)
        : new RoomError("DISCONNECTED", "Disconnected");
    }
  }

  /** Leaves the room (a clean close: the server ends the session at once, no linger). */
  close(info: ClosedInfo = { code: 1000, reason: "Closed by the client" }): void {
    if (this.state === "closed") return;
    this.attemptId += 1;
    this.scheduler.clearTimeout(this.retryTimer);
    this.session.end();
    this.setStatus("closed");
    this.socket.disconnect();
    this.events.emit("closed", info);
    this.events.clear();
  }

  private async attempt(): Promise<void> {
    const id = ++this.attemptId;
    let token: string;
    try {
      token = await this.opts.token();
    } catch {
      // The provider could not give a token now (offline?): like a network failure.
      if (id === this.attemptId) this.retry({ code: undefined });
      return;
    }
    if (id !== this.attemptId || this.state === "closed") return;
    this.currentToken = token;
    const resume = this.opts.resume === false ? {} : this.session.resumeAuth(this.clocks.mono());
    // schedule: this client holds a scheduled transition itself (effective_at), so the server
    // sends it at once instead of holding it back until that moment. presence: the roster
    // comes once on join, then as changes (roster.ts), not as a whole after every join.
    this.socket.auth = { token, schedule: true, presence: "delta", ...resume, ...(this.opts.wait ? { wait: true } : {}) };
    this.lastClose = undefined;
    this.socket.connect();
  }

  private onConnect(): void {
    this.backoff.reset();
    this.authFailures = 0;
    this.setStatus("connected");
    this.events.emit("open", this.currentToken);
  }

  private onConnectError(err: Error & { data?: unknown }): void {
    if (this.state === "closed") return;
    const data = err.data as { code?: unknown; message?: unknown } | undefined;
    const code = typeof data?.code === "number" ? data.code : undefined;
    const message = typeof data?.message === "string" ? data.message : err.message;
    this.end({ code, reason: code === undefined ? undefined : err.message }, message);
  }

  private onDisconnect(reason: Socket.DisconnectReason): void {
    if (this.state === "closed" || reason === "io client disconnect") return;
    this.session.lost(this.clocks.mono());
    if (reason === "io server disconnect") {
      const close = this.lastClose;
      this.end({ code: close?.code ?? 1013 }, close?.reason ?? "Disconnected by the server");
      return;
    }
    // The transport dropped (network, sleep): the session may be resumed.
    this.retry({ code: undefined });
  }

  private end(ending: Ending, message: string): void {
    const verdict = verdictFor(ending, { canRenewToken: this.opts.canRenewToken, waiting: this.opts.wait === true });
    if (verdict === "renew-token" && this.authFailures++ < 1) {
      this.retry(ending, 0);
      return;
    }
    if (verdict === "retry") {
      this.retry(ending);
      return;
    }
    this.close({ code: ending.code ?? 1006, reason: message, error: ending.reason });
  }

  private retry(ending: Ending, delayMs = this.backoff.next()): void {
    if (this.state === "closed") return;
    this.setStatus("reconnecting");
    this.scheduler.clearTimeout(this.retryTimer);
    this.retryTimer = this.scheduler.setTimeout(() => void this.attempt(), delayMs);
    this.events.emit("reconnecting", { attempt: this.backoff.attempts, delayMs, code: ending.code, error: ending.reason });
  }

  private onMessage(event: string, payload: unknown): void {
    if (this.state === "closed") return;
    const message = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
    if (event === "SESSION") this.session.session(message as unknown as SessionInfo);
    else if (!this.session.accept(message.seq)) return;
    if (event === "CLOSE") this.lastClose = { code: Number(message.code), reason: String(message.reason ?? "") };
    this.events.emit("message", event as ServerMessageType, message);
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.state === status) return;
    this.state = status;
    this.events.emit("status", status);
  }
}
