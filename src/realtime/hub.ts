/**
 * The room hub: the transport-agnostic heart of the realtime layer. It admits connections
 * (the original's checks, in order), runs the join and leave sequences, keeps presence and the
 * room lifecycle (LIVE, GRACE, EXPIRED), fans messages out through the transports, and turns
 * room events (delete, expiry, source, chat toggle, playback) into messages and closes.
 */
import type { Room } from "../../db/schema.js";
import type { AuthenticatedUser, AuthService } from "../auth/service.js";
import { type ChatEntry, ChatService } from "../chat/service.js";
import type { DB } from "../db.js";
import { isAppError, isDependencyDown } from "../errors.js";
import type { GraceScheduler } from "../lifecycle/scheduler.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import { markGrace, markLive } from "../lifecycle/transitions.js";
import { ModerationService } from "../moderation/service.js";
import { PlaybackService, snapshotAt } from "../playback/service.js";
import { recordRoomEvent } from "../rooms/audit.js";
import { findRoomForUser } from "../rooms/codes.js";
import type { MediaSource, PlaybackSnapshot, RoomEvent, RoomEventBus } from "../rooms/events.js";
import { isHost } from "../rooms/permissions.js";
import type { RealtimeState } from "../state/realtime-state.js";
import { CommandHandlers } from "./commands.js";
import { CLOSE_CODES, type ServerMessage } from "./protocol.js";
import type { ConnectionGuard } from "./guard.js";
import { buildRoster } from "./roster.js";
import { type CommandResult, type Connection, fail, JoinRejected, type Member, type Scope, type Transport } from "./types.js";

/** Rooms up to `smallRoom` local members get every roster at once; bigger ones are paced. */
export const ROSTER_PACING = { smallRoom: 50, msPerMember: 5, maxPauseMs: 5000 } as const;

/** How long a big room's next roster broadcast waits, given the time since the last one. */
export function rosterPause(members: number, sinceLastMs: number): number {
  if (members <= ROSTER_PACING.smallRoom) return 0;
  const interval = Math.min(ROSTER_PACING.maxPauseMs, members * ROSTER_PACING.msPerMember);
  return Math.max(0, interval - sinceLastMs);
}

export interface HubLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface HubOptions {
  logger: HubLogger;
  graceSeconds: number;
  driftThresholdSeconds: number;
  /** Embedded mode owns every room: on start, rooms left LIVE by a previous run enter grace. */
  recoverLiveRooms: boolean;
  /** Socket abuse limits; none when absent. */
  guard?: ConnectionGuard | undefined;
}

export interface Admission {
  /** The client's address, for the per-address socket limit. */
  client: string;
  user: AuthenticatedUser;
  room: Room;
  isHost: boolean;
  history: ChatEntry[];
  playback: PlaybackSnapshot;
}

/** What this instance knows about a room that has local connections. */
export interface LiveRoom {
  id: string;
  code: string;
  hostId: string;
  chatEnabled: boolean;
  /** Chat slow mode for viewers (0 = off). */
  slowModeSeconds: number;
  media: MediaSource;
  playback: PlaybackSnapshot;
  members: Map<string, Member>;
  /** Set once the room is deleted or expired: leaving members then trigger nothing. */
  closed: boolean;
  roster: {
    dirty: boolean;
    running: boolean;
    left: ServerMessage[];
    joined: { message: ServerMessage; except: string }[];
    /** Resolved once a roster built after their request has been sent. */
    waiters: (() => void)[];
    /** `cluster` when any pending request came from a change made on this instance. */
    scope: Scope;
    lastSentAt: number;
  };
  lastProgressWrite: number;
  /** Settles once the room's durable mutes are in the realtime state (see restoreMutes). */
  mutesRestored: Promise<void>;
  /** The approved roster rows, briefly reused while many join at once (see roster.ts). */
  rosterRows?: { rows: { id: string; display_name: string }[]; ids: Set<string>; at: number } | undefined;
}

export class RoomHub {
  readonly chat: ChatService;
  readonly playback: PlaybackService;
  readonly moderation: ModerationService;
  private readonly rooms = new Map<string, LiveRoom>();
  /** connection id → room code, for the connections that entered a room here. */
  private readonly connectionRooms = new Map<string, string>();
  private readonly transports: Transport[] = [];
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Client frames being handled (a drain lets them finish). */
  private readonly inflight = new Set<Promise<unknown>>();
  private draining = false;

  /** True once close() has begun: no new connections or frames are taken. */
  get isDraining(): boolean {
    return this.draining;
  }
  private readonly commands: CommandHandlers;
  private unsubscribe: (() => void) | undefined;
  private readonly guard: ConnectionGuard | undefined;

  constructor(
    readonly db: DB,
    private readonly auth: AuthService,
    readonly state: RealtimeState,
    readonly events: RoomEventBus,
    private readonly scheduler: GraceScheduler,
    private readonly lifecycle: RoomLifecycle,
    readonly options: HubOptions,
  ) {
    this.chat = new ChatService(db);
    this.playback = new PlaybackService(db);
    this.moderation = new ModerationService(db);
    this.commands = new CommandHandlers(this);
    this.guard = options.guard;
  }

  addTransport(transport: Transport): void {
    this.transports.push(transport);
  }

  /** Subscribes to room events and repairs lifecycle state left by a previous run. */
  async start(): Promise<void> {
    this.unsubscribe = this.events.subscribe((event) => this.onRoomEvent(event));
    await this.state.start(
      (roomId, userId) => this.lifecycle.staleLeave(roomId, userId),
      // Redis lost its data (restart without persistence, flush): the presence is back, the mutes too.
      async () => {
        for (const live of this.rooms.values()) await this.restoreMutes(live);
      },
    );
    await this.lifecycle.sweep();
    if (this.options.recoverLiveRooms) {
      // Nobody is connected to a fresh process: hosts of LIVE rooms are gone, so grace starts now.
      const live = await this.db.selectFrom("rooms").select("id").where("state", "=", "LIVE").execute();
      for (const { id } of live) await markGrace(this.db, id, this.options.graceSeconds);
    }
    const graced = await this.db.selectFrom("rooms").select(["id", "grace_ends_at"]).where("state", "=", "GRACE").execute();
    for (const room of graced) await this.scheduler.schedule(room.id, room.grace_ends_at!);
  }

  /**
   * Drains this instance: new connections and new frames are refused (1012 / SERVICE_UNAVAILABLE),
   * frames already being handled finish (their acks and broadcasts go out, chat reaches the
   * database), then every client is told to reconnect (1012) and leaves properly, so hosts enter
   * grace and the others see them go; then presence is released.
   */
  async close(): Promise<void> {
    this.draining = true;
    await Promise.allSettled([...this.inflight]);
    await this.chat.drain();
    const members = [...this.rooms.values()].flatMap((live) => [...live.members.values()]);
    for (const member of members) member.connection.close(CLOSE_CODES.SERVICE_RESTART, "Server restarting");
    await Promise.all(members.map((member) => this.leave(member.connection)));
    await Promise.allSettled([...this.locks.values()]);
    this.unsubscribe?.();
    await this.quietly(this.state.close({ forget: true }), "release presence");
    await this.scheduler.close();
  }

  // ---- admission ----------------------------------------------------------------------

  /** The connect checks in the original's order; throws JoinRejected with the close code. */
  async admit(token: string | null | undefined, rawCode: string, client = "unknown"): Promise<Admission> {
    if (this.draining) throw new JoinRejected(CLOSE_CODES.SERVICE_RESTART, "SERVICE_UNAVAILABLE", "Server restarting");
    await this.guard?.attempt(client);
    if (!token) throw new JoinRejected(CLOSE_CODES.UNAUTHENTICATED, "AUTH_REQUIRED", "Authentication required");
    let user: AuthenticatedUser;
    try {
      user = await this.auth.authenticate(token);
    } catch (err) {
      if (isAppError(err)) throw new JoinRejected(CLOSE_CODES.UNAUTHENTICATED, "INVALID_TOKEN", "Invalid or expired token");
      throw err;
    }
    if (!user.username) throw new JoinRejected(CLOSE_CODES.FORBIDDEN, "USERNAME_REQUIRED", "Please set a username first.");
    const found = await findRoomForUser(this.db, rawCode, user.id);
    if (!found) throw new JoinRejected(CLOSE_CODES.ROOM_NOT_FOUND, "ROOM_NOT_FOUND", "Room not found");
    const { room, banned, participantStatus } = found;
    if (banned) throw new JoinRejected(CLOSE_CODES.BANNED, "BANNED", "You are banned from this room");
    if (room.state === "DELETED" || room.state === "EXPIRED") {
      throw new JoinRejected(CLOSE_CODES.ROOM_INACTIVE, "ROOM_INACTIVE", "Room is no longer active");
    }
    if (room.state === "GRACE" && room.grace_ends_at && room.grace_ends_at.getTime() <= Date.now()) {
      await this.lifecycle.expire(room.id);
      throw new JoinRejected(CLOSE_CODES.GRACE_EXPIRED, "ROOM_EXPIRED", "Room has expired");
    }
    if (participantStatus !== "APPROVED") {
      throw participantStatus
        ? new JoinRejected(CLOSE_CODES.FORBIDDEN, "NOT_APPROVED", "Waiting for host approval")
        : new JoinRejected(CLOSE_CODES.FORBIDDEN, "NOT_A_PARTICIPANT", "Not a participant");
    }
    const cached = this.rooms.get(room.code);
    const [history, playback] = await Promise.all([
      this.chat.history(room.id),
      cached ? Promise.resolve(cached.playback) : this.playback.load(room.id),
    ]);
    return { client, user, room, isHost: isHost(user, room), history, playback };
  }

  // ---- join and leave ------------------------------------------------------------------

  /**
   * Runs the join sequence. The joiner gets CHAT_HISTORY and PLAYBACK_STATE synchronously,
   * before any other broadcast can reach it, then ROOM_PARTICIPANTS with everyone else.
   */
  async enter(connection: Connection, admission: Admission): Promise<void> {
    const { user, room } = admission;
    let release: (() => void) | undefined;
    try {
      release = this.guard?.claim(user.id, admission.client);
    } catch (err) {
      if (!(err instanceof JoinRejected)) throw err;
      connection.close(err.closeCode, err.message);
      return;
    }
    const live = this.liveRoom(room, admission.playback);
    const member: Member = { connection, user, isHost: admission.isHost, release };
    live.members.set(connection.id, member);
    this.connectionRooms.set(connection.id, live.code);
    connection.send({ type: "CHAT_HISTORY", messages: admission.history });
    connection.send({ type: "PLAYBACK_STATE", ...snapshotAt(live.playback) });

    const { firstForUser, hostReturned, graceEndsAt } = await this.withRoomLock(room.id, async () => {
      const { firstForUser } = await this.state.connect(room.id, room.host_id, user.id, connection.id);
      let hostReturned = false;
      let graceEndsAt: Date | null = null;
      if (member.isHost && firstForUser) {
        // The room row was read at admission, moments ago: no second read on the join path.
        const updated = await markLive(this.db, room.id);
        if (updated) {
          hostReturned = room.state === "GRACE";
          await this.scheduler.cancel(room.id);
          await recordRoomEvent(this.db, room.id, user.id, hostReturned ? "host.reconnected" : "room.live");
        }
      } else if (!member.isHost && room.state === "GRACE") {
        // The room row was read at admission, moments ago.
        graceEndsAt = room.grace_ends_at;
      }
      return { firstForUser, hostReturned, graceEndsAt };
    });
    await live.mutesRestored;
    if (!live.members.has(connection.id)) return; // left (or was closed) meanwhile
    if (hostReturned) this.broadcast(live, { type: "HOST_RECONNECTED" }, connection.id);
    if (firstForUser) {
      live.roster.joined.push({ message: { type: "USER_JOINED", user: user.display_name, user_id: user.id }, except: connection.id });
    }
    if (live.members.size > ROSTER_PACING.smallRoom) {
      // Big room: the joiner gets its roster now; everyone else's is paced (see refreshRoster).
      connection.send(await buildRoster(this.db, this.state, live, user.id));
      void this.refreshRoster(live);
    } else {
      await this.refreshRoster(live);
    }
    if (graceEndsAt) {
      // Flaw fixed: a newcomer during grace is told the host is away.
      const seconds = Math.max(0, Math.ceil((graceEndsAt.getTime() - Date.now()) / 1000));
      connection.send({ type: "HOST_DISCONNECTED", grace_seconds: seconds, grace_ends_at: graceEndsAt.toISOString() });
    }
  }

  /** Runs the leave sequence for an admitted connection; a no-op for any other. Never rejects. */
  async leave(connection: Connection): Promise<void> {
    try {
      await this.runLeave(connection);
    } catch (err) {
      this.options.logger.error({ err, connection: connection.id }, "leave failed");
    }
  }

  private async runLeave(connection: Connection): Promise<void> {
    const live = this.findRoomOf(connection.id);
    const member = live?.members.get(connection.id);
    this.connectionRooms.delete(connection.id);
    if (!live || !member) return;
    live.members.delete(connection.id);
    member.release?.();
    const { user } = member;
    const { lastForUser, graceEndsAt } = await this.withRoomLock(live.id, async () => {
      const { lastForUser } = await this.state.disconnect(live.id, user.id, connection.id);
      let graceEndsAt: Date | null = null;
      if (lastForUser && member.isHost && !live.closed) graceEndsAt = await this.lifecycle.hostGone(live.id, user.id);
      return { lastForUser, graceEndsAt };
    });
    if (!live.closed) {
      if (graceEndsAt) {
        // A host tab opened meanwhile has no use for "the host is away".
        const hostTabs = [...live.members.values()].filter((m) => m.user.id === user.id).map((m) => m.connection.id);
        this.broadcast(
          live,
          { type: "HOST_DISCONNECTED", grace_seconds: this.options.graceSeconds, grace_ends_at: graceEndsAt.toISOString() },
          hostTabs,
        );
      } else if (lastForUser && !member.isHost) {
        live.roster.left.push({ type: "USER_LEFT", user: user.display_name, user_id: user.id });
      }
      // Even with nobody left here: the room's other instances still need the news.
      void this.refreshRoster(live);
    }
    if (live.members.size === 0 && !live.roster.running) this.dropRoom(live);
  }

  /** Validates and runs one client frame (decoded JSON, or an InvalidFrame); null means drop. */
  handle(connection: Connection, frame: unknown): Promise<CommandResult | null> {
    const live = this.findRoomOf(connection.id);
    const member = live?.members.get(connection.id);
    if (!live || !member) return Promise.resolve({ ok: false, error: { code: "NOT_A_PARTICIPANT", message: "Not in a room" } });
    if (this.draining) return Promise.resolve(fail("SERVICE_UNAVAILABLE", "Server restarting, please reconnect"));
    const work = this.commands.run(live, member, frame).catch((err: unknown): CommandResult => {
      if (isDependencyDown(err)) {
        this.options.logger.warn({ err, connection: connection.id }, "message refused: a dependency is unavailable");
        return fail("SERVICE_UNAVAILABLE", "Temporarily unavailable, please retry");
      }
      this.options.logger.error({ err, connection: connection.id }, "message handling failed");
      return fail("INTERNAL_ERROR", "Something went wrong, please retry");
    });
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
    return work;
  }

  // ---- fan-out --------------------------------------------------------------------------

  /** Sends to the room on every instance (`cluster`, the default) or only on this one. */
  broadcast(live: Pick<LiveRoom, "code">, message: ServerMessage, exceptIds?: string | Iterable<string>, scope: Scope = "cluster"): void {
    const except = exceptIds === undefined ? undefined : new Set(typeof exceptIds === "string" ? [exceptIds] : exceptIds);
    for (const transport of this.transports) transport.broadcast(live.code, message, except, scope);
  }

  /**
   * Adopts a newer playback state and sends it to this instance's members. The instance that
   * ran the command calls it at once (its viewers need no bus round trip, and its next
   * SYNC_CHECK already sees the new state); the others when the room event reaches them. Older
   * or repeated versions are ignored, so each instance sends each version once.
   */
  applyPlayback(live: LiveRoom, playback: PlaybackSnapshot): void {
    if (playback.version <= live.playback.version) return;
    live.playback = playback;
    this.broadcast(live, { type: "PLAYBACK_STATE", ...playback }, undefined, "local");
  }

  /** Closes every local connection of a user in a room (kick, ban). */
  removeUser(live: LiveRoom, userId: string, closeCode: number, reason: string): void {
    for (const member of [...live.members.values()]) {
      if (member.user.id === userId) member.connection.close(closeCode, reason);
    }
  }

  /**
   * Sends a fresh ROOM_PARTICIPANTS. Requests arriving while one is being built are coalesced
   * into the next, and the last one is exact. Queued USER_LEFT go before it and USER_JOINED
   * after it, as in the original order. A roster is O(N) and goes to N members, so in big
   * rooms broadcasts are also paced (ROSTER_PACING): a join storm then costs a bounded number
   * of roster broadcasts instead of one per join.
   */
  refreshRoster(live: LiveRoom, scope: Scope = "cluster"): Promise<void> {
    const sent = new Promise<void>((resolve) => live.roster.waiters.push(resolve));
    live.roster.dirty = true;
    if (scope === "cluster") live.roster.scope = "cluster";
    if (live.roster.running) return sent;
    live.roster.running = true;
    void (async () => {
      try {
        while (live.roster.dirty && !live.closed) {
          const pause = rosterPause(live.members.size, Date.now() - live.roster.lastSentAt);
          if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
          live.roster.dirty = false;
          const waiters = live.roster.waiters.splice(0);
          const left = live.roster.left.splice(0);
          const joined = live.roster.joined.splice(0);
          const scope = live.roster.scope;
          live.roster.scope = "local";
          try {
            const roster = await buildRoster(this.db, this.state, live, undefined, true);
            for (const message of left) this.broadcast(live, message, undefined, scope);
            this.broadcast(live, roster, undefined, scope);
            for (const { message, except } of joined) this.broadcast(live, message, except, scope);
            live.roster.lastSentAt = Date.now();
          } catch {
            // The database hiccuped: the next join or leave sends a fresh roster.
          } finally {
            for (const resolve of waiters) resolve();
          }
        }
      } finally {
        live.roster.running = false;
        for (const resolve of live.roster.waiters.splice(0)) resolve();
        if (live.members.size === 0) this.dropRoom(live);
      }
    })();
    return sent;
  }

  // ---- lifecycle -----------------------------------------------------------------------

  private onRoomEvent(event: RoomEvent): void {
    if (event.type === "sessions.revoked") {
      const revoked = new Set(event.sessionIds);
      for (const room of this.rooms.values()) {
        for (const member of [...room.members.values()]) {
          if (revoked.has(member.user.session_id)) member.connection.close(CLOSE_CODES.UNAUTHENTICATED, "Session ended");
        }
      }
      return;
    }
    const live = this.rooms.get(event.code);
    switch (event.type) {
      case "room.deleted":
      case "room.expired": {
        void this.quietly(this.scheduler.cancel(event.roomId), "cancel grace");
        void this.quietly(this.state.clearRoom(event.roomId), "clear room state");
        this.chat.forgetRoom(event.roomId);
        if (!live || live.closed) return; // (a repeated announcement: the sockets are closing)
        live.closed = true;
        const deleted = event.type === "room.deleted";
        this.broadcast(live, deleted ? { type: "ROOM_DELETED" } : { type: "ROOM_EXPIRED" }, undefined, "local");
        for (const member of [...live.members.values()]) {
          member.connection.close(
            deleted ? CLOSE_CODES.ROOM_INACTIVE : CLOSE_CODES.GRACE_EXPIRED,
            deleted ? "Room deleted" : "Room expired",
          );
        }
        return;
      }
      case "room.chat_toggled":
      case "room.slow_mode_changed":
        if (!live) return;
        if (event.type === "room.chat_toggled") live.chatEnabled = event.enabled;
        else live.slowModeSeconds = event.seconds;
        this.broadcast(live, { type: "CHAT_STATUS", enabled: live.chatEnabled, slow_mode_seconds: live.slowModeSeconds }, undefined, "local");
        return;
      case "room.source_changed":
        if (!live) return;
        live.media = event.source;
        live.playback = event.playback;
        this.broadcast(live, { type: "SOURCE_CHANGED", ...event.source }, undefined, "local");
        this.broadcast(live, { type: "PLAYBACK_STATE", ...event.playback }, undefined, "local");
        return;
      case "room.playback_changed":
        if (live) this.applyPlayback(live, event.playback);
        return;
      case "member.removed":
        if (live) this.removeUser(live, event.userId, event.closeCode, event.reason);
        return;
      case "participant.approved":
      case "participant.rejected":
        if (live) void this.refreshRoster(live, "local");
        return;
      case "member.left":
        if (!live) return;
        if (event.graceEndsAt) {
          this.broadcast(live, { type: "HOST_DISCONNECTED", grace_seconds: this.options.graceSeconds, grace_ends_at: event.graceEndsAt }, undefined, "local");
        } else {
          live.roster.left.push({ type: "USER_LEFT", user: event.displayName, user_id: event.userId });
        }
        void this.refreshRoster(live, "local");
        return;
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  private async quietly(work: void | Promise<void>, what: string): Promise<void> {
    try {
      await work;
    } catch (err) {
      this.options.logger.error({ err }, `${what} failed`);
    }
  }

  private liveRoom(room: Room, playback: PlaybackSnapshot): LiveRoom {
    let live = this.rooms.get(room.code);
    if (!live) {
      live = {
        id: room.id,
        code: room.code,
        hostId: room.host_id,
        chatEnabled: room.is_chat_enabled,
        slowModeSeconds: room.chat_slow_mode_seconds,
        media: {
          video_provider: room.video_provider,
          video_id: room.video_id,
          media_type: room.media_type,
          season: room.season,
          episode: room.episode,
          embed_url: null,
        },
        playback,
        members: new Map(),
        closed: false,
        roster: { dirty: false, running: false, left: [], joined: [], waiters: [], scope: "local", lastSentAt: 0 },
        lastProgressWrite: 0,
        mutesRestored: Promise.resolve(),
      };
      this.rooms.set(room.code, live);
      live.mutesRestored = this.restoreMutes(live);
    }
    return live;
  }

  /**
   * Copies the room's durable mutes into the realtime state. The state is only a copy: the
   * embedded process forgets it on restart, and a Redis without persistence on its restart.
   */
  private async restoreMutes(live: LiveRoom): Promise<void> {
    try {
      for (const userId of await this.moderation.mutedUsers(live.id)) await this.state.setMuted(live.id, userId, true);
    } catch (err) {
      this.options.logger.error({ err, room: live.code }, "restoring mutes failed");
    }
  }

  private dropRoom(live: LiveRoom): void {
    if (this.rooms.get(live.code) !== live) return;
    this.rooms.delete(live.code);
    for (const transport of this.transports) transport.releaseRoom?.(live.code);
  }

  private findRoomOf(connectionId: string): LiveRoom | undefined {
    const code = this.connectionRooms.get(connectionId);
    return code ? this.rooms.get(code) : undefined;
  }

  /** Serializes lifecycle-affecting steps per room on this instance (join vs leave races). */
  private withRoomLock<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(roomId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(roomId, tail);
    void tail.then(() => {
      if (this.locks.get(roomId) === tail) this.locks.delete(roomId);
    });
    return next;
  }

}
