/**
 * A room as the SDK user sees it: typed messages in, acknowledged messages out, the host's
 * playback controls, the server clock and the room's intended position, and (with a player)
 * lock-step playback. The connection underneath reconnects and resumes by itself; the token is
 * renewed over REAUTH before it expires when a token provider is given.
 */
import type {
  Ack,
  ClientMessageType,
  ClientPayloadOf,
  MediaCapabilities,
  PartyReason,
  Reaction,
  ServerMessageOf,
  ServerMessageType,
} from "@streamit/protocol";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { onPageVisible, ServerClock, type ServerClockOptions } from "./clock.js";
import { type ClosedInfo, Connection, type ConnectionStatus } from "./connection.js";
import type { CorrectionOptions } from "./correction.js";
import { Emitter } from "./emitter.js";
import { isRetryable, RoomError } from "./errors.js";
import type { PlayerAdapter } from "./player.js";
import { type PlaybackNow, type PlaybackState, RoomClock } from "./room-clock.js";
import { Roster } from "./roster.js";
import { SyncController, type SyncStats } from "./sync-controller.js";
import { type Clocks, type Scheduler, sleep, systemClocks, systemScheduler } from "./timers.js";
import { jwtExpiry, reauthDelay } from "./token.js";

export interface ConnectOptions {
  /** The server's base URL (`https://watch.example`, `http://localhost:8000`). */
  url: string;
  /** The room's code (any case). */
  code: string;
  /** A fixed access token: the connection ends when it expires (4001). */
  token?: string;
  /**
   * Gives an access token (from login or `POST /api/auth/refresh/`): called before every
   * connect and before the current token expires (then sent as REAUTH). It may return a cached
   * token while that one is fresh.
   */
  getToken?: () => Promise<string>;
  /** Ask for a resumable session (default true): a dropped connection comes back with what it missed. */
  resume?: boolean;
  /** In an approval room, wait for the host's answer instead of being refused (default false). */
  wait?: boolean;
  /** A player to keep in lock-step with the room. */
  player?: PlayerAdapter;
  /** Socket.IO transports (default websocket only). */
  transports?: ("websocket" | "polling" | "webtransport")[];
  /** How long an ack may take (ms). Default 5000. */
  ackTimeoutMs?: number;
  /** REAUTH this long before the token's expiry (ms; at most a fifth of its remaining life). Default 60 000. */
  reauthLeadMs?: number;
  /** Host commands refused with SERVICE_UNAVAILABLE (or unanswered) are sent again this many times. Default 3. */
  commandRetries?: number;
  sync?: {
    tickMs?: number;
    /** SYNC_REPORT interval (ms); 0: no reports. Default 5000. */
    reportMs?: number;
    correction?: CorrectionOptions;
  };
  clock?: Omit<ServerClockOptions, "ping" | "clocks" | "scheduler">;
  backoff?: BackoffOptions;
  /** Injected time (tests). */
  clocks?: Clocks;
  scheduler?: Scheduler;
}

/** A server message as delivered: its fields, and its log position for resumable sessions. */
export type RoomMessage<K extends ServerMessageType> = ServerMessageOf<K> & { seq?: number };

export type RoomEvents = { [K in ServerMessageType]: (message: RoomMessage<K>) => void } & {
  status: (status: ConnectionStatus) => void;
  /** Connected (first time or again). */
  open: () => void;
  reconnecting: (info: { attempt: number; delayMs: number; code?: number | undefined; error?: string | undefined }) => void;
  /** The room object is done: refused or removed for good, or close() was called. */
  closed: (info: ClosedInfo) => void;
  /** A new playback state was accepted (PLAYBACK_STATE, or a newer one in SYNC_CORRECTION). */
  playback: (state: PlaybackState) => void;
  /** The player refused to start (autoplay policy). */
  playblocked: (error: unknown) => void;
  /** The scheduled party changed (PARTY_STARTS_AT): its start, or null with why it ended. */
  party: (startsAt: Date | null, reason: PartyReason) => void;
  /** The roster changed (`room.roster`): the join snapshot, a page of it, a join, a leave, a role. */
  roster: (roster: Roster) => void;
};

/** The room's media as SOURCE_CHANGED (or the room detail) describes it. */
export type RoomSource = Omit<ServerMessageOf<"SOURCE_CHANGED">, "type">;

/** A host command's outcome. */
export interface CommandResult {
  version: number;
  /** The server had already applied this command_id (a resend): nothing changed twice. */
  duplicate: boolean;
}

export interface RoomStats extends Partial<SyncStats> {
  status: ConnectionStatus;
  offset: number;
  errorBound: number;
  rtt: number | undefined;
  version: number;
}

type PlaybackCommand = "PLAY" | "PAUSE" | "SEEK" | "SET_RATE";

export class Room {
  readonly code: string;
  /** The server clock (offset, error bound, `serverNow()`). */
  readonly clock: ServerClock;
  /** The room's playback, at any server time. */
  readonly playback = new RoomClock();
  /** Lock-step playback, when a player was given. */
  readonly sync: SyncController | undefined;
  /** Resolves on the first connect; rejects with a RoomError when the room closes before. */
  readonly ready: Promise<void>;
  /**
   * The room's latest BUFFERING_STATE (who it waits for, who is catching up, when the wait ends
   * at the latest); undefined until one came. The host sets the policy with setBufferingPolicy().
   */
  buffering: RoomMessage<"BUFFERING_STATE"> | undefined;
  /** The latest BUFFERING_POLICY (the room detail has the policy in force at join: `buffering`). */
  bufferingPolicy: RoomMessage<"BUFFERING_POLICY"> | undefined;
  /** The room's queue as the latest QUEUE_UPDATED had it (`loadQueue()` asks for it); undefined until then. */
  queue: RoomMessage<"QUEUE_UPDATED"> | undefined;
  /** The skip votes for what plays now (the latest VOTE_SKIP_UPDATED); cleared when the source changes. */
  skipVotes: RoomMessage<"VOTE_SKIP_UPDATED"> | undefined;
  /**
   * Who is in the room (delta presence: the snapshot once, then each change; see roster.ts).
   * `roster.complete` is false while the join snapshot's pages are still coming.
   */
  readonly roster = new Roster();
  /** Since when the room rests (ROOM_RESTING: a persistent room whose host is away); null when it does not. */
  restedAt: Date | null = null;

  private readonly opts: ConnectOptions;
  private readonly connection: Connection;
  private readonly events = new Emitter<RoomEvents>();
  private partyStart: Date | null = null;
  private readonly clocks: Clocks;
  private readonly scheduler: Scheduler;
  private readonly unwatchVisibility: () => void;
  private tokenExpiresAt: number | undefined;
  private reauthTimer: unknown;
  private closed = false;
  private currentSource: RoomSource | undefined;

  constructor(options: ConnectOptions) {
    if (!options.token && !options.getToken) throw new TypeError("connect: a token or getToken is needed");
    this.opts = options;
    this.code = options.code.toUpperCase();
    this.clocks = options.clocks ?? systemClocks;
    this.scheduler = options.scheduler ?? systemScheduler;
    const fixed = options.token;
    this.connection = new Connection({
      url: options.url,
      code: options.code,
      token: options.getToken ?? (() => Promise.resolve(fixed!)),
      canRenewToken: options.getToken !== undefined,
      resume: options.resume ?? true,
      wait: options.wait ?? false,
      transports: options.transports,
      backoff: options.backoff,
      clocks: this.clocks,
      scheduler: this.scheduler,
    });
    this.clock = new ServerClock({
      ...options.clock,
      ping: (clientTs) => this.ping(clientTs),
      clocks: this.clocks,
      scheduler: this.scheduler,
    });
    const reportMs = options.sync?.reportMs ?? 5000;
    this.sync = options.player
      ? new SyncController({
          player: options.player,
          clock: this.clock,
          room: this.playback,
          report: reportMs > 0 ? (report) => this.report(report) : undefined,
          tickMs: options.sync?.tickMs,
          reportMs,
          correction: options.sync?.correction,
          clocks: this.clocks,
          scheduler: this.scheduler,
        })
      : undefined;
    this.sync?.on("playblocked", (err) => this.events.emit("playblocked", err));

    this.ready = new Promise<void>((resolve, reject) => {
      this.connection.on("open", () => resolve());
      this.connection.on("closed", (info) => reject(new RoomError((info.error as RoomError["code"]) ?? "CLOSED", info.reason, info.code)));
    });
    // Awaiting `ready` is optional: an unobserved refusal must not be an unhandled rejection.
    this.ready.catch(() => {});

    this.connection.on("status", (status) => this.events.emit("status", status));
    this.connection.on("open", (token) => this.onOpen(token));
    this.connection.on("reconnecting", (info) => {
      this.clock.stop();
      this.scheduler.clearTimeout(this.reauthTimer);
      this.events.emit("reconnecting", info);
    });
    this.connection.on("closed", (info) => this.onClosed(info));
    this.connection.on("message", (type, payload) => this.onMessage(type, payload));
    // Back from a hidden tab (or a sleeping laptop): the wall clock may have been stepped meanwhile.
    this.unwatchVisibility = onPageVisible(() => {
      if (!this.connection.connected) return;
      void this.clock.resync(true);
      this.sync?.tick();
    });
    this.connection.open();
  }

  get status(): ConnectionStatus {
    return this.connection.status;
  }

  /** The scheduled party's start (from PARTY_STARTS_AT), or null when none is pending. */
  get partyStartsAt(): Date | null {
    return this.partyStart;
  }

  /** How long until the party starts (ms, by the server's clock; 0 once due), or undefined with none. */
  partyCountdownMs(): number | undefined {
    return this.partyStart === null ? undefined : Math.max(0, this.partyStart.getTime() - this.clock.serverNow());
  }

  /** The latest playback state in effect (undefined before the join's PLAYBACK_STATE). */
  get state(): PlaybackState | undefined {
    return this.playback.stateAt(this.clock.serverNow());
  }

  /** Where the room is now: position (s), playing, rate, version. */
  now(): PlaybackNow | undefined {
    return this.playback.at(this.clock.serverNow());
  }

  /** The room's media: the latest SOURCE_CHANGED, or what `useSource` was given (the join snapshot carries none). */
  get source(): RoomSource | undefined {
    return this.currentSource;
  }

  /** What the current source's player can do (undefined: not known yet, or no media). */
  get capabilities(): MediaCapabilities | undefined {
    return this.currentSource?.capabilities ?? undefined;
  }

  /**
   * Tells the room of its media as the REST detail gave it (the join snapshot carries none), so
   * the sync picks its correction mode before the next SOURCE_CHANGED. A later SOURCE_CHANGED
   * replaces it; do not pass a detail older than one.
   */
  useSource(source: RoomSource): void {
    this.currentSource = source;
    this.sync?.setCapabilities(source.capabilities);
  }

  get stats(): RoomStats {
    return {
      ...this.sync?.stats,
      status: this.connection.status,
      offset: this.clock.offset,
      errorBound: this.clock.errorBound,
      rtt: this.clock.rtt,
      version: this.playback.version,
    };
  }

  on<K extends keyof RoomEvents>(event: K, handler: RoomEvents[K]): () => void {
    return this.events.on(event, handler);
  }

  /** Sends a client message; resolves with its ack (`ok` true or false), rejects when none came (RoomError). */
  send<K extends ClientMessageType>(type: K, payload: ClientPayloadOf<K>, options: { timeoutMs?: number } = {}): Promise<Ack> {
    return this.connection.request(type, payload as Record<string, unknown>, options.timeoutMs ?? this.opts.ackTimeoutMs ?? 5000);
  }

  /** Host: plays from `time` (default: where the room is). */
  play(time?: number): Promise<CommandResult> {
    return this.command("PLAY", { time: time ?? this.position() });
  }

  /** Host: pauses at `time` (default: where the room is). */
  pause(time?: number): Promise<CommandResult> {
    return this.command("PAUSE", { time: time ?? this.position() });
  }

  /** Host: moves to `time`, play state kept. */
  seek(time: number): Promise<CommandResult> {
    return this.command("SEEK", { time });
  }

  /** Host: changes the room's rate (0.25–2), the position kept. */
  setRate(rate: number): Promise<CommandResult> {
    return this.command("SET_RATE", { rate });
  }

  /** Posts a chat message; resolves with its id and time, rejects with the refusal (RoomError: MUTED, SLOW_MODE, …). */
  async chat(message: string): Promise<{ id: string; created_at: string }> {
    const ack = await this.ask("CHAT_MESSAGE", { message, command_id: newCommandId() });
    return { id: String(ack.id), created_at: String(ack.created_at) };
  }

  /**
   * Schedules the room's party (playback starts by itself at `startsAt`, in sync), moves it, or
   * clears it (null). Host, and co-hosts who may control playback; resolves with the time set.
   */
  async setPartyTime(startsAt: Date | string | null): Promise<string | null> {
    const value = startsAt === null ? null : new Date(startsAt).toISOString();
    const ack = await this.ask("SET_PARTY_TIME", { starts_at: value });
    return (ack.starts_at as string | null | undefined) ?? null;
  }

  /** Asks for the room's queue; resolves with it (also kept in `room.queue`, and fresh after every change). */
  async loadQueue(): Promise<RoomMessage<"QUEUE_UPDATED">> {
    let off = () => {};
    const answer = new Promise<RoomMessage<"QUEUE_UPDATED">>((resolve) => {
      off = this.on("QUEUE_UPDATED", (message) => {
        off();
        resolve(message);
      });
    });
    try {
      await this.ask("QUEUE_GET", {});
    } catch (err) {
      off();
      throw err;
    }
    return answer;
  }

  /**
   * Appends a media item to the queue (host and co-hosts who may control playback): a provider
   * and id (or `direct` and a media URL), with title and duration when known. With
   * `expected_version`, only if nobody changed the queue since (else STALE_VERSION). Resolves
   * with the queue's new version.
   */
  async queueAdd(item: ClientPayloadOf<"QUEUE_ADD">): Promise<number> {
    return Number((await this.ask("QUEUE_ADD", item)).version);
  }

  /** Removes a queued item; resolves with the queue's new version. */
  async queueRemove(itemId: string, expectedVersion?: number): Promise<number> {
    return Number((await this.ask("QUEUE_REMOVE", { item_id: itemId, expected_version: expectedVersion })).version);
  }

  /** Moves a queued item to position `to` (0 plays next); resolves with the queue's new version. */
  async queueMove(itemId: string, to: number, expectedVersion?: number): Promise<number> {
    return Number((await this.ask("QUEUE_MOVE", { item_id: itemId, to, expected_version: expectedVersion })).version);
  }

  /** Plays the queue's next item now (rejects with QUEUE_EMPTY when there is none). */
  async next(expectedVersion?: number): Promise<void> {
    await this.ask("NEXT", { expected_version: expectedVersion });
  }

  /** Votes to skip what plays now (`false` takes the vote back); resolves with the count and whether it skipped. */
  async voteSkip(vote = true): Promise<{ votes: number; needed: number; skipped: boolean }> {
    const ack = await this.ask("VOTE_SKIP", { vote });
    return { votes: Number(ack.votes), needed: Number(ack.needed), skipped: ack.skipped === true };
  }

  /**
   * The host sets the room's buffering policy: `never`, `wait_for_all` (up to `max_wait_seconds`)
   * or `wait_for_share` (resume when `ready_percent` of the members are ready); numbers left out
   * keep their values. Resolves with the policy in force (BUFFERING_POLICY tells everyone).
   */
  async setBufferingPolicy(policy: ClientPayloadOf<"SET_BUFFERING_POLICY">): Promise<Omit<RoomMessage<"BUFFERING_POLICY">, "type">> {
    const ack = await this.ask("SET_BUFFERING_POLICY", policy);
    return {
      policy: ack.policy as RoomMessage<"BUFFERING_POLICY">["policy"],
      max_wait_seconds: Number(ack.max_wait_seconds),
      ready_percent: Number(ack.ready_percent),
    };
  }

  /**
   * The host (registered) keeps the room: when grace runs out with nobody to take it, it rests
   * instead of expiring, and wakes when the host or a successor comes back. Resolves with the setting.
   */
  async setPersistent(persistent: boolean): Promise<boolean> {
    return (await this.ask("SET_PERSISTENT", { persistent })).is_persistent === true;
  }

  /** Sends a reaction everyone sees as REACTION (rejects with RATE_LIMITED past the budget). */
  async react(emoji: Reaction): Promise<void> {
    await this.ask("REACTION", { emoji });
  }

  /** Leaves the room: stops the timers, the player sync and the socket. */
  close(): void {
    this.connection.close();
  }

  /** Sends a message; resolves with its acked fields, rejects with the refusal as a RoomError. */
  private async ask<K extends ClientMessageType>(type: K, payload: ClientPayloadOf<K>): Promise<Record<string, unknown>> {
    const ack = await this.send(type, payload);
    if (!ack.ok) throw new RoomError(ack.error.code, ack.error.message);
    return ack;
  }

  private position(): number {
    return this.now()?.position ?? 0;
  }

  /**
   * Sends a playback command with a command_id and the version it is based on. A resend (after
   * SERVICE_UNAVAILABLE or a lost answer) carries the same command_id, so the server applies it
   * at most once (a second copy is acked `duplicate`).
   */
  private async command(type: PlaybackCommand, fields: Record<string, number>): Promise<CommandResult> {
    const payload: Record<string, unknown> = { ...fields, command_id: newCommandId() };
    const version = this.playback.version;
    if (version >= 0) payload.expected_version = version;
    const retries = this.opts.commandRetries ?? 3;
    const backoff = new Backoff({ baseMs: 250, capMs: 2000 });
    for (let attempt = 0; ; attempt += 1) {
      try {
        const ack = await this.send(type, payload as ClientPayloadOf<typeof type>);
        if (ack.ok) return { version: Number(ack.version), duplicate: ack.duplicate === true };
        throw new RoomError(ack.error.code, ack.error.message);
      } catch (err) {
        if (attempt >= retries || !isRetryable(err) || this.closed) throw err;
        // Down: resent once it is back (or tried again after the wait, to fail as DISCONNECTED).
        if (err instanceof RoomError && err.code === "DISCONNECTED") await this.reopened(this.opts.ackTimeoutMs ?? 5000);
        else await sleep(this.scheduler, Math.max(100, backoff.next()));
      }
    }
  }

  /** Resolves when the connection is open again, or after `ms`. */
  private reopened(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.scheduler.clearTimeout(timer);
        off();
        resolve();
      };
      const timer = this.scheduler.setTimeout(done, ms);
      const off = this.connection.on("open", done);
    });
  }

  private async ping(clientTs: number): Promise<number> {
    const ack = await this.connection.request("TIME_SYNC", { client_ts: clientTs }, 2000);
    if (!ack.ok || typeof ack.server_ts !== "number") throw new RoomError(ack.ok ? "INTERNAL_ERROR" : ack.error.code, "No server time");
    return ack.server_ts;
  }

  private async report(report: { position: number; rtt_ms: number; buffering: boolean }) {
    if (!this.connection.connected) return undefined;
    const ack = await this.send("SYNC_REPORT", report);
    return ack.ok
      ? { drift: ack.drift as number | undefined, corrected: ack.corrected === true, ignored: ack.ignored === true }
      : undefined;
  }

  private onOpen(token: string): void {
    this.clock.start();
    this.sync?.reset();
    this.sync?.start();
    this.tokenExpiresAt = jwtExpiry(token);
    this.scheduleReauth();
    this.events.emit("open");
  }

  private onMessage(type: ServerMessageType, payload: Record<string, unknown>): void {
    if (type === "PLAYBACK_STATE" || type === "SYNC_CORRECTION") {
      const state = payload as unknown as PlaybackState;
      const newer = state.version > this.playback.version;
      if (this.playback.apply(state, this.clock.serverNow()) && (type === "PLAYBACK_STATE" || newer)) {
        this.events.emit("playback", state);
        // Acted on now, not at the next tick: a scheduled start may be due before that.
        this.sync?.tick();
      }
    } else if (type === "SOURCE_CHANGED") {
      const { type: _type, seq: _seq, ...source } = payload as RoomMessage<"SOURCE_CHANGED">;
      this.useSource(source);
      this.skipVotes = undefined;
      this.sync?.reset();
    } else if (type === "QUEUE_UPDATED") {
      this.queue = payload as unknown as RoomMessage<"QUEUE_UPDATED">;
    } else if (type === "VOTE_SKIP_UPDATED") {
      this.skipVotes = payload as unknown as RoomMessage<"VOTE_SKIP_UPDATED">;
    } else if (type === "ROOM_RESTING") {
      this.restedAt = new Date(String(payload.rested_at));
    } else if (type === "HOST_RECONNECTED" || type === "HOST_CHANGED") {
      this.restedAt = null;
    } else if (type === "BUFFERING_STATE") {
      this.buffering = payload as unknown as RoomMessage<"BUFFERING_STATE">;
    } else if (type === "BUFFERING_POLICY") {
      this.bufferingPolicy = payload as unknown as RoomMessage<"BUFFERING_POLICY">;
    } else if (type === "REAUTHED") {
      this.tokenRenewed(String(payload.expires_at));
    } else if (type === "PARTY_STARTS_AT") {
      const startsAt = typeof payload.starts_at === "string" ? new Date(payload.starts_at) : null;
      this.partyStart = startsAt;
      this.events.emit("party", startsAt, payload.reason as PartyReason);
    }
    (this.events.emit as (event: string, message: unknown) => void)(type, payload);
    if (this.roster.apply(type, payload)) this.events.emit("roster", this.roster);
  }

  private onClosed(info: ClosedInfo): void {
    this.closed = true;
    this.clock.stop();
    this.sync?.stop();
    this.scheduler.clearTimeout(this.reauthTimer);
    this.unwatchVisibility();
    this.events.emit("closed", info);
    this.events.clear();
  }

  private tokenRenewed(expiresAt: string): void {
    const at = Date.parse(expiresAt);
    if (Number.isNaN(at)) return;
    this.tokenExpiresAt = at;
    this.scheduleReauth();
  }

  private scheduleReauth(delayMs?: number): void {
    this.scheduler.clearTimeout(this.reauthTimer);
    const expiresAt = this.tokenExpiresAt;
    if (!this.opts.getToken || expiresAt === undefined || this.closed) return;
    // The expiry is the server's clock: measured against it, a skewed page clock does not matter.
    const delay = delayMs ?? reauthDelay(expiresAt, this.clock.serverNow(), this.opts.reauthLeadMs);
    // setTimeout holds at most 2^31 − 1 ms; a longer wait re-arms on the way.
    const capped = Math.min(delay, 2 ** 31 - 1);
    this.reauthTimer = this.scheduler.setTimeout(() => (capped < delay ? this.scheduleReauth() : void this.reauth()), capped);
  }

  private async reauth(): Promise<void> {
    try {
      const token = await this.opts.getToken!();
      const ack = await this.send("REAUTH", { token });
      if (ack.ok) {
        this.tokenRenewed(String(ack.expires_at));
        return;
      }
    } catch {
      // Tried again below; failing that, the server closes with 4001 and a reconnect renews it.
    }
    const left = (this.tokenExpiresAt ?? 0) - this.clock.serverNow();
    if (left > 2000) this.scheduleReauth(Math.min(5000, left / 2));
  }
}

/** A command_id: a random UUID (the protocol allows `[\w.:-]{1,64}`). */
function newCommandId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues<T extends Uint8Array>(array: T): T } }).crypto!;
  if (typeof crypto?.randomUUID === "function") return crypto.randomUUID();
  // randomUUID is missing on insecure origins (plain http pages): the same 122 random bits.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
