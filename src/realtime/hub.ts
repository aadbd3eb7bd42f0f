/**
 * The room hub: the transport-agnostic heart of the realtime layer. It admits connections
 * (the original's checks, in order), runs the join and leave sequences, keeps presence and the
 * room lifecycle (LIVE, GRACE, EXPIRED), fans messages out through the transports, and turns
 * room events (delete, expiry, source, chat toggle, playback) into messages and closes.
 */
import type { Registry } from "prom-client";
import type { Room } from "../../db/schema.js";
import type { AuthenticatedUser, AuthService } from "../auth/service.js";
import { type ChatEntry, ChatService } from "../chat/service.js";
import type { DB } from "../db.js";
import { isAppError, isDependencyDown } from "../errors.js";
import type { GraceScheduler } from "../lifecycle/scheduler.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import { markGrace, markLive } from "../lifecycle/transitions.js";
import { ModerationService } from "../moderation/service.js";
import { PlaybackService } from "../playback/service.js";
import { findRoomForUser } from "../rooms/codes.js";
import { isHost } from "../rooms/permissions.js";
import { loadCohosts, RoleService } from "../rooms/roles.js";
import type { RealtimeState } from "../state/realtime-state.js";
import { randomUUID } from "node:crypto";
import type { RoomLog } from "../state/room-log.js";
import { CommandHandlers } from "./commands.js";
import { ApprovalWaits } from "./approvals.js";
import { CLOSE_CODES, type ServerMessage, type ServerMessageOf } from "./protocol.js";
import type { ConnectionGuard } from "./guard.js";
import { buildRoster } from "./roster.js";
import { SyncTelemetry } from "./sync-telemetry.js";
import {
  type CommandResult,
  type Connection,
  fail,
  JoinRejected,
  ok,
  type Member,
  type ResumeRequest,
  type Scope,
  type Transport,
} from "./types.js";
import { type PlaybackSnapshot, snapshotAt } from "../playback/snapshot.js";
import { recordRoomEvent } from "../timeline/timeline.js";
import { type MediaSource } from "../rooms/media.js";
import { type PublishedRoomEvent, type RoomEventBus } from "../events/room-events.js";
import { rolesOf, type RoomRoles } from "../rooms/roles-model.js";

/** How long a logged broadcast waits for its log append before it goes out without a seq. */
const LOG_APPEND_WAIT_MS = 500;
/** A resume token lives this long while its connection is open (the window starts at the drop). */
const SESSION_TOKEN_TTL_MS = 24 * 3600 * 1000;

/**
 * Roster pacing. A roster broadcast costs its entries (every approved participant, online or
 * not) times its recipients (the room's connections here). A room whose cost is at most
 * `smallRoom`² (50 members, all present) gets every roster at once; a costlier one is paced by
 * the square root of its cost, `msPerMember` each, at most `maxPauseMs` apart.
 */
export const ROSTER_PACING = { smallRoom: 50, msPerMember: 5, maxPauseMs: 5000 } as const;

/**
 * How long a room's next roster broadcast waits, given its recipients here, the entries of its
 * last roster (0 before the first) and the time since the last one.
 */
export function rosterPause(recipients: number, entries: number, sinceLastMs: number): number {
  const weight = Math.sqrt(recipients * Math.max(entries, recipients));
  if (weight <= ROSTER_PACING.smallRoom) return 0;
  const interval = Math.min(ROSTER_PACING.maxPauseMs, weight * ROSTER_PACING.msPerMember);
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
  /** Resumable sessions: the room log, the resume window and how long a dropped client lingers. */
  resume?: { log: RoomLog; windowMs: number; lingerMs: number } | undefined;
  /** How often hosts get ROOM_SYNC (sync telemetry); 5 s when absent. */
  syncSummaryMs?: number | undefined;
  /** The app's Prometheus registry, for the sync metrics; not exported when absent. */
  metrics?: Registry | undefined;
  /** How long a pending user's connection may wait for the host's answer; 30 s when absent. */
  approvalWaitMs?: number | undefined;
}

/** A pending user's connection that waits for the host's answer (see RoomHub.admit). */
export interface ApprovalWait {
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** Tells the client it is waiting (a transport that can speak before admission). */
  onPending?: (message: ServerMessageOf<"JOIN_PENDING">) => void;
}

export interface Admission {
  /** The client's address, for the per-address socket limit. */
  client: string;
  user: AuthenticatedUser;
  room: Room;
  isHost: boolean;
  history: ChatEntry[];
  playback: PlaybackSnapshot;
  /** Set when the client asked for a resumable session. */
  resume?: ResumeRequest | undefined;
  /** The session being resumed (a valid token of this user in this room). */
  resumeFrom?: { lastSeq: number; connectionId: string } | undefined;
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
    left: { message: ServerMessage; key: string }[];
    joined: { message: ServerMessage; except: string; key: string }[];
    /** Resolved once a roster built after their request has been sent. */
    waiters: (() => void)[];
    /** `cluster` when any pending request came from a change made on this instance. */
    scope: Scope;
    lastSentAt: number;
  };
  lastProgressWrite: number;
  /** Room broadcasts go out in this order, each after its log append (see broadcast). */
  sendChain: Promise<void>;
  /** Co-hosts and what they may do (see rooms/roles.ts). */
  roles: RoomRoles;
  /** Set once roles came from an event: a slower initial load must not overwrite them. */
  rolesFromEvent: boolean;
  /** Settles once the room's durable mutes are in the realtime state and its roles are loaded. */
  ready: Promise<void>;
  /** Set while the room waits for its last sends before this instance lets go of it. */
  dropping?: boolean;
  /** The approved roster rows, briefly reused while many join at once (see roster.ts). */
  rosterRows?: { rows: { id: string; display_name: string }[]; ids: Set<string>; at: number } | undefined;
}

export class RoomHub {
  readonly chat: ChatService;
  readonly playback: PlaybackService;
  readonly moderation: ModerationService;
  readonly roles: RoleService;
  readonly sync: SyncTelemetry;
  private readonly rooms = new Map<string, LiveRoom>();
  /** connection id → room code, for the connections that entered a room here. */
  private readonly connectionRooms = new Map<string, string>();
  private readonly transports: Transport[] = [];
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Client frames being handled (a drain lets them finish). */
  private readonly inflight = new Set<Promise<unknown>>();
  /** Resumable connections that dropped: their leave waits (connection id → the deferred leave). */
  private readonly lingering = new Map<string, { live: LiveRoom; timer: NodeJS.Timeout; finish: () => Promise<void> }>();
  private draining = false;
  private readonly approvals: ApprovalWaits;

  /** Pending users' connections waiting for the host's answer on this instance. */
  get waitingForApproval(): number {
    return this.approvals.size;
  }

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
    readonly lifecycle: RoomLifecycle,
    readonly options: HubOptions,
  ) {
    this.chat = new ChatService(db);
    this.playback = new PlaybackService(db);
    this.moderation = new ModerationService(db);
    this.roles = new RoleService(db, events);
    this.commands = new CommandHandlers(this);
    this.sync = new SyncTelemetry(state, {
      driftThresholdSeconds: options.driftThresholdSeconds,
      summaryIntervalMs: options.syncSummaryMs ?? 5000,
      registry: options.metrics,
      logger: options.logger,
    });
    this.guard = options.guard;
    this.approvals = new ApprovalWaits(options.approvalWaitMs ?? 30_000);
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
    this.approvals.endAll();
    await Promise.allSettled([...this.inflight]);
    await this.chat.drain();
    await Promise.allSettled([...this.rooms.values()].map((live) => live.sendChain));
    const members = [...this.rooms.values()].flatMap((live) => [...live.members.values()]);
    for (const member of members) member.connection.close(CLOSE_CODES.SERVICE_RESTART, "Server restarting");
    await Promise.all(members.map((member) => this.leave(member.connection)));
    await Promise.all([...this.lingering.keys()].map((id) => this.finishLingering(id)));
    await Promise.allSettled([...this.locks.values()]);
    this.sync.close();
    this.unsubscribe?.();
    await this.quietly(this.state.close({ forget: true }), "release presence");
    await this.scheduler.close();
  }

  // ---- admission ----------------------------------------------------------------------

  /**
   * The connect checks in the original's order; throws JoinRejected with the close code. With
   * `wait`, a pending user's connection waits (up to APPROVAL_WAIT_SECONDS) for the host's
   * answer instead of being refused at once: approved, the admission goes on.
   */
  async admit(
    token: string | null | undefined,
    rawCode: string,
    client = "unknown",
    resume?: ResumeRequest,
    wait?: ApprovalWait,
  ): Promise<Admission> {
    if (this.draining) throw new JoinRejected(CLOSE_CODES.SERVICE_RESTART, "SERVICE_UNAVAILABLE", "Server restarting");
    try {
      return await this.check(token, rawCode, client, resume, wait);
    } catch (err) {
      throw this.rejection(err, "admission failed");
    }
  }

  /**
   * What a client is told when its admission or join failed for a reason of the server's own (a
   * dependency timed out under load, a bug): 1013 "try again later", never 1011, which clients of
   * the original read as a crash. Logged: a dependency at warn level, anything else as an error.
   */
  private rejection(err: unknown, what: string): JoinRejected {
    if (err instanceof JoinRejected) return err;
    if (isDependencyDown(err)) this.options.logger.warn({ err }, `${what}: a dependency is unavailable`);
    else this.options.logger.error({ err }, what);
    return new JoinRejected(CLOSE_CODES.TRY_AGAIN_LATER, "SERVICE_UNAVAILABLE", "Temporarily unavailable, please reconnect");
  }

  private async check(token: string | null | undefined, rawCode: string, client: string, resume?: ResumeRequest, wait?: ApprovalWait): Promise<Admission> {
    if (this.draining) throw new JoinRejected(CLOSE_CODES.SERVICE_RESTART, "SERVICE_UNAVAILABLE", "Server restarting");
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
      // Grace is over: the room expires, unless its policy hands it to a successor.
      await this.lifecycle.expire(room.id);
      const after = await findRoomForUser(this.db, rawCode, user.id);
      if (after?.room.state !== "LIVE") throw new JoinRejected(CLOSE_CODES.GRACE_EXPIRED, "ROOM_EXPIRED", "Room has expired");
      Object.assign(room, after.room);
    }
    if (participantStatus === "PENDING" && wait) {
      await this.awaitApproval(room, user.id, wait);
      // Answered: every check runs again (a ban, a deleted room or a revoked session count).
      return this.check(token, rawCode, client, resume);
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
    const log = this.resumeLog();
    let resumeFrom: Admission["resumeFrom"];
    if (log && resume?.token) {
      // The token is used up either way; a valid one of this user in this room resumes.
      const held = await log.take(resume.token);
      if (held && held.userId === user.id && held.roomId === room.id) resumeFrom = { lastSeq: resume.lastSeq, connectionId: held.connectionId };
    }
    return { client, user, room, isHost: isHost(user, room), history, playback, resume: log ? resume : undefined, resumeFrom };
  }

  private async awaitApproval(room: Room, userId: string, wait: ApprovalWait): Promise<void> {
    const stillPending = async () => (await findRoomForUser(this.db, room.code, userId))?.participantStatus === "PENDING";
    // A waiting connection counts against the open-socket limits like a member's.
    const release = this.guard?.claimUser(userId);
    let outcome;
    try {
      wait.onPending?.({ type: "JOIN_PENDING", room_id: room.id, code: room.code, wait_seconds: this.approvals.waitSeconds });
      outcome = await this.approvals.wait(room.id, userId, stillPending, wait.signal);
    } finally {
      release?.();
    }
    switch (outcome) {
      case "answered":
        return;
      case "rejected":
        throw new JoinRejected(CLOSE_CODES.FORBIDDEN, "JOIN_REJECTED", "The host declined your request");
      default:
        throw new JoinRejected(CLOSE_CODES.FORBIDDEN, "NOT_APPROVED", "Waiting for host approval");
    }
  }

  // ---- join and leave ------------------------------------------------------------------

  /**
   * Runs the join sequence. The joiner gets CHAT_HISTORY and PLAYBACK_STATE synchronously,
   * before any other broadcast can reach it, then ROOM_PARTICIPANTS with everyone else.
   */
  async enter(connection: Connection, admission: Admission): Promise<void> {
    try {
      await this.join(connection, admission);
    } catch (err) {
      const rejection = this.rejection(err, "join failed");
      connection.close(rejection.closeCode, rejection.message);
    }
  }

  private async join(connection: Connection, admission: Admission): Promise<void> {
    const { user, room } = admission;
    const release = this.guard?.claimUser(user.id);
    const live = this.liveRoom(room, admission.playback);
    const member: Member = { connection, user, isHost: admission.isHost, release };
    this.armExpiry(member);
    live.members.set(connection.id, member);
    this.connectionRooms.set(connection.id, live.code);
    const { resumeFrom } = admission;
    if (resumeFrom) {
      // In the room's send order: nothing this instance sends to the room can overtake it.
      await this.inSendOrder(live, () => this.replay(live, connection, admission, resumeFrom.lastSeq));
    } else {
      this.sendSnapshot(live, connection, admission);
    }

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
    // The session this one resumes may still linger here: it leaves now, unseen (no USER_LEFT).
    if (resumeFrom) await this.finishLingering(resumeFrom.connectionId);
    await live.ready;
    if (!live.members.has(connection.id)) return; // left (or was closed) meanwhile
    if (hostReturned) void this.broadcast(live, { type: "HOST_RECONNECTED" }, connection.id, "cluster", randomUUID());
    if (firstForUser) {
      live.roster.joined.push({
        message: { type: "USER_JOINED", user: user.display_name, user_id: user.id },
        except: connection.id,
        key: randomUUID(),
      });
    }
    if (live.members.size > ROSTER_PACING.smallRoom) {
      // Big room: the joiner gets its roster now; everyone else's is paced (see refreshRoster).
      connection.send(await buildRoster(this.db, this.state, live, user.id));
      void this.refreshRoster(live);
    } else {
      await this.refreshRoster(live);
    }
    if (graceEndsAt && !resumeFrom) {
      // Flaw fixed: a newcomer during grace is told the host is away.
      const seconds = Math.max(0, Math.ceil((graceEndsAt.getTime() - Date.now()) / 1000));
      connection.send({ type: "HOST_DISCONNECTED", grace_seconds: seconds, grace_ends_at: graceEndsAt.toISOString() });
    }
    if (admission.resume) await this.inSendOrder(live, () => this.issueSession(live, member));
  }

  /** The join snapshot: recent chat, then the playback state as of now. */
  private sendSnapshot(live: LiveRoom, connection: Connection, admission: Admission): void {
    connection.send({ type: "CHAT_HISTORY", messages: admission.history });
    connection.send({ type: "PLAYBACK_STATE", ...snapshotAt(live.playback) });
  }

  /**
   * A resumed session gets the logged room messages it missed, in order, each with its seq; when
   * the log no longer has them all, the full join snapshot instead.
   */
  private async replay(live: LiveRoom, connection: Connection, admission: Admission, lastSeq: number): Promise<void> {
    const entries = await this.resumeLog()!.since(live.id, lastSeq).catch(() => null);
    if (!entries) return this.sendSnapshot(live, connection, admission);
    connection.send({ type: "RESUMED", missed: entries.length, from_seq: lastSeq });
    for (const entry of entries) connection.sendEncoded(entry.json, entry.seq);
  }

  /** Tells a resumable connection its resume token and log position (a new token each join). */
  private async issueSession(live: LiveRoom, member: Member): Promise<void> {
    const resume = this.options.resume!;
    try {
      const hold = { userId: member.user.id, roomId: live.id, connectionId: member.connection.id };
      // Valid while connected (a day at most); the resume window starts when the connection drops.
      const [token, seq] = await Promise.all([resume.log.issue(hold, Math.max(resume.windowMs, SESSION_TOKEN_TTL_MS)), resume.log.head(live.id)]);
      member.resumeToken = token;
      member.connection.send({ type: "SESSION", resume_token: member.resumeToken, resume_window_seconds: resume.windowMs / 1000, seq });
    } catch (err) {
      this.options.logger.warn({ err, room: live.code }, "could not issue a resume token");
    }
  }

  /**
   * Runs the leave sequence for an admitted connection; a no-op for any other. Never rejects.
   * `dropped`: the connection was lost rather than closed (network, reload). A resumable one then
   * stays present for the linger time, so a quick resume shows no USER_LEFT / USER_JOINED.
   */
  async leave(connection: Connection, options: { dropped?: boolean } = {}): Promise<void> {
    try {
      await this.runLeave(connection, options.dropped ?? false);
    } catch (err) {
      this.options.logger.error({ err, connection: connection.id }, "leave failed");
    }
  }

  private async runLeave(connection: Connection, dropped: boolean): Promise<void> {
    const live = this.findRoomOf(connection.id);
    const member = live?.members.get(connection.id);
    this.connectionRooms.delete(connection.id);
    if (!live || !member) return;
    live.members.delete(connection.id);
    member.release?.();
    clearTimeout(member.expiry);
    const resume = this.options.resume;
    if (member.resumeToken && resume) {
      if (dropped && resume.windowMs > 0 && !this.draining && !live.closed) {
        // The resume window starts now; presence holds for the linger time.
        await resume.log.hold(member.resumeToken, resume.windowMs).catch(() => {});
        if (resume.lingerMs > 0) {
          const finish = () => this.presenceLeave(live, member, connection);
          const timer = setTimeout(() => void this.finishLingering(connection.id), resume.lingerMs);
          this.lingering.set(connection.id, { live, timer, finish });
          return;
        }
      } else {
        await resume.log.drop(member.resumeToken).catch(() => {});
      }
    }
    await this.presenceLeave(live, member, connection);
  }

  /** Ends a lingering connection's presence now (its resume arrived, its time ran out, or a drain). */
  private async finishLingering(connectionId: string): Promise<void> {
    const lingering = this.lingering.get(connectionId);
    if (!lingering) return;
    this.lingering.delete(connectionId);
    clearTimeout(lingering.timer);
    try {
      await lingering.finish();
    } catch (err) {
      this.options.logger.error({ err, connection: connectionId }, "leave failed");
    }
  }

  /** The presence half of a leave: presence, grace for a host, USER_LEFT, a fresh roster. */
  private async presenceLeave(live: LiveRoom, member: Member, connection: Connection): Promise<void> {
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
        void this.broadcast(
          live,
          { type: "HOST_DISCONNECTED", grace_seconds: this.options.graceSeconds, grace_ends_at: graceEndsAt.toISOString() },
          hostTabs,
          "cluster",
          randomUUID(),
        );
      } else if (lastForUser && !member.isHost) {
        live.roster.left.push({ message: { type: "USER_LEFT", user: user.display_name, user_id: user.id }, key: randomUUID() });
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
      if (isAppError(err)) return fail(err.code, err.message);
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

  // ---- token expiry ---------------------------------------------------------------------

  /**
   * A socket lives as long as the access token it presented: at its expiry the connection is
   * closed with 4001 `Token expired`, unless REAUTH brought a fresh token of the same user first.
   */
  private armExpiry(member: Member): void {
    clearTimeout(member.expiry);
    const left = member.user.token_expires_at - Date.now();
    // setTimeout holds at most ~24.8 days: a longer-lived token is checked again then.
    member.expiry = setTimeout(() => {
      if (member.user.token_expires_at > Date.now()) return this.armExpiry(member);
      member.connection.close(CLOSE_CODES.UNAUTHENTICATED, "Token expired");
    }, Math.min(Math.max(0, left), 2 ** 31 - 1)).unref();
  }

  /** REAUTH: adopts a fresh access token of the member's own user (its session and expiry). */
  async reauthenticate(member: Member, token: string): Promise<CommandResult> {
    let user: AuthenticatedUser;
    try {
      user = await this.auth.authenticate(token);
    } catch (err) {
      if (isAppError(err)) return fail("INVALID_TOKEN", "Invalid or expired token");
      throw err;
    }
    if (user.id !== member.user.id) return fail("INVALID_TOKEN", "The token belongs to another user");
    member.user = { ...member.user, session_id: user.session_id, token_expires_at: user.token_expires_at };
    this.armExpiry(member);
    const expiresAt = new Date(user.token_expires_at).toISOString();
    member.connection.send({ type: "REAUTHED", expires_at: expiresAt });
    return ok({ expires_at: expiresAt });
  }

  // ---- fan-out --------------------------------------------------------------------------

  /**
   * Sends to the room on every instance (`cluster`, the default) or only on this one. A message
   * with a `logKey` is first appended to the room log (once per key, whichever instances append
   * it) and goes out with its seq. A room's broadcasts leave in call order; the promise settles
   * once this one has.
   */
  broadcast(
    live: LiveRoom,
    message: ServerMessage,
    exceptIds?: string | Iterable<string>,
    scope: Scope = "cluster",
    logKey?: string,
  ): Promise<void> {
    const except = exceptIds === undefined ? undefined : new Set(typeof exceptIds === "string" ? [exceptIds] : exceptIds);
    const log = logKey === undefined ? undefined : this.resumeLog();
    // The append starts now (appends of a room pipeline in order); only the send waits for it, and
    // not for long: a slow or unreachable log must not hold the room's messages back.
    const appended = log ? this.appendBounded(live, log, logKey!, message) : undefined;
    return this.inSendOrder(live, async () => {
      const seq = appended ? await appended : undefined;
      for (const transport of this.transports) transport.broadcast(live.code, message, except, scope, seq);
    });
  }

  /** The message's seq, or undefined when the log failed or took longer than LOG_APPEND_WAIT_MS. */
  private appendBounded(live: LiveRoom, log: RoomLog, key: string, message: ServerMessage): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOG_APPEND_WAIT_MS);
    });
    const append = log.append(live.id, key, JSON.stringify(message)).catch((err: unknown) => {
      // Delivered all the same, without a seq; a client resuming across it gets a full re-join.
      this.options.logger.warn({ err, room: live.code }, "room log append failed");
      return undefined;
    });
    return Promise.race([append, late]).finally(() => clearTimeout(timer));
  }

  /** Runs `step` after the room's earlier broadcasts (and replays) have gone out. */
  private inSendOrder(live: LiveRoom, step: () => Promise<void>): Promise<void> {
    const run = live.sendChain.then(step).catch((err: unknown) => this.options.logger.error({ err, room: live.code }, "room send failed"));
    live.sendChain = run;
    return run;
  }

  private resumeLog(): RoomLog | undefined {
    const resume = this.options.resume;
    return resume && resume.windowMs > 0 ? resume.log : undefined;
  }

  /**
   * Adopts a newer playback state and sends it to this instance's members. The instance that
   * ran the command calls it at once (its viewers need no bus round trip, and its next
   * SYNC_CHECK already sees the new state); the others when the room event reaches them. Older
   * or repeated versions are ignored, so each instance sends each version once.
   */
  applyPlayback(live: LiveRoom, playback: PlaybackSnapshot): Promise<void> {
    if (playback.version <= live.playback.version) return Promise.resolve();
    live.playback = playback;
    return this.broadcast(live, { type: "PLAYBACK_STATE", ...playback }, undefined, "local", `playback:${playback.version}`);
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
          const pause = rosterPause(live.members.size, live.rosterRows?.rows.length ?? 0, Date.now() - live.roster.lastSentAt);
          if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
          live.roster.dirty = false;
          const waiters = live.roster.waiters.splice(0);
          const left = live.roster.left.splice(0);
          const joined = live.roster.joined.splice(0);
          const scope = live.roster.scope;
          live.roster.scope = "local";
          try {
            const roster = await buildRoster(this.db, this.state, live, undefined, true);
            for (const { message, key } of left) void this.broadcast(live, message, undefined, scope, key);
            void this.broadcast(live, roster, undefined, scope);
            for (const { message, except, key } of joined) void this.broadcast(live, message, except, scope, key);
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

  private onRoomEvent(event: PublishedRoomEvent): void {
    this.approvals.notify(event);
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
        // After the room's last messages: then every socket closes.
        void this.broadcast(live, deleted ? { type: "ROOM_DELETED" } : { type: "ROOM_EXPIRED" }, undefined, "local").then(() => {
          for (const member of [...live.members.values()]) {
            member.connection.close(
              deleted ? CLOSE_CODES.ROOM_INACTIVE : CLOSE_CODES.GRACE_EXPIRED,
              deleted ? "Room deleted" : "Room expired",
            );
          }
        });
        if (this.options.resume) void this.quietly(this.options.resume.log.clearRoom(event.roomId), "clear room log");
        return;
      }
      case "room.chat_toggled":
      case "room.slow_mode_changed":
        if (!live) return;
        if (event.type === "room.chat_toggled") live.chatEnabled = event.enabled;
        else live.slowModeSeconds = event.seconds;
        void this.broadcast(
          live,
          { type: "CHAT_STATUS", enabled: live.chatEnabled, slow_mode_seconds: live.slowModeSeconds },
          undefined,
          "local",
          `event:${event.eventId}`,
        );
        return;
      case "room.source_changed":
        if (!live) return;
        live.media = event.source;
        live.playback = event.playback;
        void this.broadcast(live, { type: "SOURCE_CHANGED", ...event.source }, undefined, "local", `event:${event.eventId}`);
        void this.broadcast(live, { type: "PLAYBACK_STATE", ...event.playback }, undefined, "local", `playback:${event.playback.version}`);
        return;
      case "room.playback_changed":
        if (live) void this.applyPlayback(live, event.playback);
        return;
      case "member.removed":
        if (live) this.removeUser(live, event.userId, event.closeCode, event.reason);
        return;
      case "room.roles_changed":
        if (!live) return;
        live.roles = event.roles;
        live.rolesFromEvent = true;
        void this.broadcast(live, { type: "COHOSTS_CHANGED", ...event.roles }, undefined, "local", `event:${event.eventId}`);
        void this.refreshRoster(live, "local");
        return;
      case "room.host_changed":
        if (!live) return;
        live.hostId = event.hostId;
        live.roles = { ...live.roles, cohosts: live.roles.cohosts.filter((id) => id !== event.hostId) };
        for (const member of live.members.values()) member.isHost = isHost(member.user, { host_id: event.hostId });
        void this.broadcast(
          live,
          {
            type: "HOST_CHANGED",
            host_id: event.hostId,
            host: event.hostName,
            previous_host_id: event.previousHostId,
            reason: event.reason,
            reclaim_until: event.reclaimUntil,
          },
          undefined,
          "local",
          `event:${event.eventId}`,
        );
        void this.refreshRoster(live, "local");
        return;
      case "participant.approved":
      case "participant.rejected":
        if (live) void this.refreshRoster(live, "local");
        return;
      case "participant.requested":
        // To the host's tabs here (not logged: after a resume the host lists them over REST).
        if (!live) return;
        for (const member of live.members.values()) {
          if (member.user.id === live.hostId) member.connection.send({ type: "JOIN_REQUESTED", user_id: event.userId, display_name: event.displayName });
        }
        return;
      case "member.left":
        if (!live) return;
        if (event.graceEndsAt) {
          void this.broadcast(
            live,
            { type: "HOST_DISCONNECTED", grace_seconds: this.options.graceSeconds, grace_ends_at: event.graceEndsAt },
            undefined,
            "local",
            `event:${event.eventId}`,
          );
        } else {
          live.roster.left.push({ message: { type: "USER_LEFT", user: event.displayName, user_id: event.userId }, key: `event:${event.eventId}` });
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
        sendChain: Promise.resolve(),
        roles: rolesOf(room, []),
        rolesFromEvent: false,
        ready: Promise.resolve(),
      };
      this.rooms.set(room.code, live);
      this.sync.watch(live);
      live.ready = Promise.all([this.restoreMutes(live), this.loadRoles(live)]).then(() => {});
    }
    return live;
  }

  /**
   * Copies the room's durable mutes (those in force, with their expiry) into the realtime
   * state. The state is only a copy: the embedded process forgets it on restart, and a Redis
   * without persistence on its restart.
   */
  private async restoreMutes(live: LiveRoom): Promise<void> {
    try {
      for (const { userId, until } of await this.moderation.mutedUsers(live.id)) await this.state.setMuted(live.id, userId, true, until);
    } catch (err) {
      this.options.logger.error({ err, room: live.code }, "restoring mutes failed");
    }
  }

  private async loadRoles(live: LiveRoom): Promise<void> {
    try {
      const cohosts = await loadCohosts(this.db, live.id);
      if (!live.rolesFromEvent) live.roles = { ...live.roles, cohosts };
    } catch (err) {
      this.options.logger.error({ err, room: live.code }, "loading co-hosts failed");
    }
  }

  /**
   * Lets go of a room nobody is in here any more, once its last broadcasts have gone out: a
   * transport releases the room's namespace and subscriptions, and a send after that would
   * create them again (in cluster mode, for good). A joiner arriving meanwhile keeps the room.
   */
  private dropRoom(live: LiveRoom): void {
    const idle = () =>
      this.rooms.get(live.code) === live &&
      live.members.size === 0 &&
      !live.roster.running &&
      ![...this.lingering.values()].some((lingering) => lingering.live === live);
    if (!idle() || live.dropping) return;
    live.dropping = true;
    void (async () => {
      let chain: Promise<void>;
      do {
        chain = live.sendChain;
        await chain;
      } while (chain !== live.sendChain);
      live.dropping = false;
      if (!idle()) return;
      this.rooms.delete(live.code);
      this.sync.unwatch(live);
      for (const transport of this.transports) transport.releaseRoom?.(live.code);
    })();
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
