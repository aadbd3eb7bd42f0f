/**
 * The room hub: the transport-agnostic heart of the realtime layer, composed of one part per
 * phase: admission (admission.ts), join and leave (membership.ts), resume and linger
 * (sessions.ts), fan-out (fanout.ts), roster pacing (roster-pacing.ts), room events
 * (room-events.ts) and client frames (dispatch.ts). Features plug in through the message
 * registry (protocol.ts) and room hooks (sync telemetry, approval waits).
 */

import type { ServerMessage } from "@streamit/protocol";
import { CLOSE_CODES } from "@streamit/protocol";
import type { AuthService } from "../auth/service.js";
import type { ChatService } from "../chat/service.js";
import type { DB } from "../db.js";
import type { RoomEventBus } from "../events/room-events.js";
import type { GraceScheduler } from "../lifecycle/scheduler.js";
import type { RoomLifecycle } from "../lifecycle/service.js";
import type { ModerationService } from "../moderation/service.js";
import type { PlaybackService } from "../playback/service.js";
import type { RoomHooks } from "../protocol/feature.js";
import { type CommandResult, fail } from "../protocol/results.js";
import type { RealtimeState } from "../state/realtime-state.js";
import { type Admission, Admissions, type ApprovalWait } from "./admission.js";
import type { ApprovalWaits } from "./approvals.js";
import { Dispatcher } from "./dispatch.js";
import { RoomFanout } from "./fanout.js";
import type { ConnectionGuard } from "./guard.js";
import { LiveRooms } from "./live-rooms.js";
import { Membership } from "./membership.js";
import { NO_METER, type RealtimeMeter } from "./meter.js";
import type { FeatureServices } from "./protocol.js";
import { RoomEvents } from "./room-events.js";
import type { RosterLimits } from "./roster.js";
import { RosterPacer } from "./roster-pacing.js";
import { type ResumeOptions, Sessions } from "./sessions.js";
import { type Connection, type HubLogger, JoinRejected, type ResumeRequest, type Transport } from "./types.js";

export type { Admission, ApprovalWait } from "./admission.js";

const DEFAULT_ROSTER_LIMITS: RosterLimits = { pageSize: 500, legacyMax: 500 };

export interface HubServices {
  auth: AuthService;
  chat: ChatService;
  playback: PlaybackService;
  moderation: ModerationService;
  lifecycle: RoomLifecycle;
}

export interface HubOptions {
  logger: HubLogger;
  graceSeconds: number;
  /** Embedded mode owns every room: on start, rooms left LIVE by a previous run enter grace. */
  recoverLiveRooms: boolean;
  /** Socket abuse limits; none when absent. */
  guard?: ConnectionGuard | undefined;
  /** Roster page size and the cap of a roster without delta presence (ROSTER_PAGE_SIZE, ROSTER_LEGACY_MAX). */
  roster?: RosterLimits | undefined;
  /** Resumable sessions: the room log, the resume window and how long a dropped client lingers. */
  resume?: ResumeOptions | undefined;
  /** Pending users' connections waiting for the host's answer (also a room hook). */
  approvals: ApprovalWaits;
  /** Features that follow the rooms of this instance (sync telemetry, …). */
  hooks?: readonly RoomHooks[] | undefined;
  /** What each feature's message handlers get; `session` is the hub's own. */
  features: Omit<FeatureServices, "session">;
  /** Where joins, messages, refusals and broadcasts are counted (the app's metrics). */
  meter?: RealtimeMeter | undefined;
}

export interface HubBackends {
  db: DB;
  state: RealtimeState;
  events: RoomEventBus;
  scheduler: GraceScheduler;
}

export class RoomHub {
  private readonly rooms: LiveRooms;
  private readonly fanout: RoomFanout;
  private readonly sessions: Sessions;
  private readonly roomEvents: RoomEvents;
  private readonly admissions: Admissions;
  private readonly membership: Membership;
  private readonly dispatcher: Dispatcher;
  private readonly hooks: readonly RoomHooks[];
  /** The transports report their sends and slow consumers here too. */
  readonly meter: RealtimeMeter;
  /** Client frames being handled (a drain lets them finish). */
  private readonly inflight = new Set<Promise<unknown>>();
  private draining = false;

  constructor(
    private readonly backends: HubBackends,
    private readonly services: HubServices,
    readonly options: HubOptions,
  ) {
    const { db, state, events, scheduler } = backends;
    const { logger, guard } = options;
    const meter = (this.meter = options.meter ?? NO_METER);
    this.hooks = [options.approvals, ...(options.hooks ?? [])];
    this.fanout = new RoomFanout(options.resume && options.resume.windowMs > 0 ? options.resume.log : undefined, logger, meter);
    this.sessions = new Sessions(options.resume, this.fanout, logger);
    this.rooms = new LiveRooms({
      db,
      moderation: services.moderation,
      mutes: state.mutes,
      presence: state.presence,
      rosterLimits: options.roster ?? DEFAULT_ROSTER_LIMITS,
      fanout: this.fanout,
      hooks: this.hooks,
      logger,
    });
    this.rooms.isLingering = (live) => this.sessions.isLingering(live);
    const roster = new RosterPacer(db, state.presence, this.fanout, (live) => this.rooms.dropIfIdle(live));
    this.roomEvents = new RoomEvents({
      bus: events,
      rooms: this.rooms,
      fanout: this.fanout,
      roster,
      scheduler,
      state,
      chat: services.chat,
      log: options.resume?.log,
      graceSeconds: options.graceSeconds,
      hooks: this.hooks,
      logger,
    });
    const draining = () => this.draining;
    const publish = (event: Parameters<RoomEvents["publish"]>[0]) => this.roomEvents.publish(event);
    this.admissions = new Admissions({
      db,
      ...services,
      approvals: options.approvals,
      guard,
      rooms: this.rooms,
      log: () => this.sessions.log,
      draining,
      logger,
      meter,
    });
    this.membership = new Membership({
      db,
      presence: state.presence,
      lifecycle: services.lifecycle,
      scheduler,
      guard,
      rooms: this.rooms,
      sessions: this.sessions,
      publish,
      draining,
    });
    this.dispatcher = new Dispatcher({
      services: {
        ...options.features,
        session: {
          auth: services.auth,
          extend: (sender, user) => this.sessions.extend(this.rooms.memberOf(sender.connection.id)!.member, user),
        },
      },
      ledger: state.commands,
      publish,
      applyHere: (event) => this.roomEvents.apply(event),
      logger,
      meter,
    });
  }

  /** Pending users' connections waiting for the host's answer on this instance. */
  get waitingForApproval(): number {
    return this.options.approvals.size;
  }

  /** True once close() has begun: no new connections or frames are taken. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** The rooms this instance holds (rooms with connections, or with messages still going out). */
  get roomCodes(): string[] {
    return this.rooms.all().map((live) => live.code);
  }

  /** This instance, as the origin of the room events it publishes. */
  get instanceId(): string {
    return this.roomEvents.instanceId;
  }

  /** Sends a message to a room's connections on this instance only (operators, tests). */
  sendHere(roomCode: string, message: ServerMessage): Promise<void> {
    const live = this.rooms.get(roomCode);
    return live ? this.fanout.send(live, message) : Promise.resolve();
  }

  addTransport(transport: Transport): void {
    this.fanout.addTransport(transport);
  }

  /** Subscribes to room events and repairs lifecycle state left by a previous run. */
  async start(): Promise<void> {
    const { state } = this.backends;
    this.roomEvents.start();
    await state.start(
      (roomId, userId) => this.services.lifecycle.staleLeave(roomId, userId),
      // Redis lost its data (restart without persistence, flush): the presence is back, the mutes too.
      async () => {
        for (const live of this.rooms.all()) await this.rooms.restoreMutes(live);
      },
    );
    await this.services.lifecycle.recover(this.options.recoverLiveRooms);
  }

  /**
   * Drains this instance: new connections and new frames are refused (1012 / SERVICE_UNAVAILABLE),
   * frames already being handled finish (their acks and broadcasts go out, chat reaches the
   * database), then every client is told to reconnect (1012) and leaves properly, so hosts enter
   * grace and the others see them go; then presence is released.
   */
  async close(): Promise<void> {
    this.draining = true;
    this.options.approvals.close();
    await Promise.allSettled([...this.inflight]);
    await this.services.chat.drain();
    const rooms = this.rooms.all();
    await Promise.allSettled(rooms.map((live) => live.sendChain));
    const members = rooms.flatMap((live) => [...live.members.values()]);
    for (const member of members) member.connection.close(CLOSE_CODES.SERVICE_RESTART, "Server restarting");
    await Promise.all(members.map((member) => this.leave(member.connection)));
    await this.sessions.finishAll();
    await this.rooms.settleLocks();
    for (const hook of this.hooks) if (hook !== this.options.approvals) hook.close?.();
    this.roomEvents.stop();
    await this.backends.state
      .close({ forget: true })
      .catch((err: unknown) => this.options.logger.error({ err }, "release presence failed"));
    await this.backends.scheduler.close();
  }

  /**
   * The connect checks in the original's order; throws JoinRejected with the close code. With
   * `wait`, a pending user's connection waits for the host's answer (see admission.ts).
   */
  admit(
    token: string | null | undefined,
    rawCode: string,
    client = "unknown",
    resume?: ResumeRequest,
    wait?: ApprovalWait,
  ): Promise<Admission> {
    return this.admissions.admit(token, rawCode, client, resume, wait).catch((err: unknown) => {
      if (err instanceof JoinRejected) this.meter.refused("join", err.reason);
      throw err;
    });
  }

  /** Runs the join sequence; never throws (a failed join closes the connection with 1013). */
  async enter(connection: Connection, admission: Admission): Promise<void> {
    try {
      await this.membership.join(connection, admission);
      this.meter.joined(connection.transport, (performance.now() - admission.startedAt) / 1000);
    } catch (err) {
      const rejection = this.admissions.rejection(err, "join failed");
      this.meter.refused("join", rejection.reason);
      connection.close(rejection.closeCode, rejection.message);
    }
  }

  /**
   * Runs the leave sequence for an admitted connection; a no-op for any other. Never rejects.
   * `dropped`: the connection was lost rather than closed (network, reload).
   */
  async leave(connection: Connection, options: { dropped?: boolean } = {}): Promise<void> {
    try {
      await this.membership.leave(connection, options.dropped ?? false);
    } catch (err) {
      this.options.logger.error({ err, connection: connection.id }, "leave failed");
    }
  }

  /** Validates and runs one client frame (decoded JSON, or an InvalidFrame); null means drop. */
  handle(connection: Connection, frame: unknown): Promise<CommandResult | null> {
    const found = this.rooms.memberOf(connection.id);
    if (!found) return Promise.resolve(fail("NOT_A_PARTICIPANT", "Not in a room"));
    if (this.draining) return Promise.resolve(fail("SERVICE_UNAVAILABLE", "Server restarting, please reconnect"));
    const work = this.dispatcher.run(found.live, found.member, frame);
    void work.then((result) => {
      if (result && !result.ok) this.meter.refused("message", result.error.code);
    });
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
    return work;
  }
}
