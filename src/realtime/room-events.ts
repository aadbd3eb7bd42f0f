/**
 * Room events → this instance's connections. Every room broadcast crosses instances as a room
 * event on the bus, tagged with the instance that published it: that instance applies it at once
 * (`publish`), the others when the bus brings it, and nobody applies an event twice. One small
 * handler per event type; each settles once its messages are out here.
 */
import { randomUUID } from "node:crypto";
import type { ServerMessage } from "@streamit/protocol";
import { CLOSE_CODES } from "@streamit/protocol";
import type { ChatService } from "../chat/service.js";
import type { PublishedRoomEvent, RoomEvent, RoomEventBus } from "../events/room-events.js";
import type { GraceScheduler } from "../lifecycle/scheduler.js";
import type { RoomHooks } from "../protocol/feature.js";
import { isHost } from "../rooms/permissions.js";
import type { RoomLog } from "../state/room-log.js";
import type { RoomFanout } from "./fanout.js";
import { HeldStarts } from "./held-starts.js";
import { type LiveRoom, rosterAudience, type Seq } from "./live-room.js";
import type { LiveRooms } from "./live-rooms.js";
import type { RosterPacer } from "./roster-pacing.js";
import type { HubLogger } from "./types.js";

export interface RoomEventsDeps {
  bus: RoomEventBus;
  rooms: LiveRooms;
  fanout: RoomFanout;
  roster: RosterPacer;
  scheduler: GraceScheduler;
  state: { clearRoom(roomId: string): Promise<void> };
  chat: ChatService;
  log: RoomLog | undefined;
  graceSeconds: number;
  hooks: readonly RoomHooks[];
  logger: HubLogger;
}

type Of<T extends RoomEvent["type"]> = Extract<PublishedRoomEvent, { type: T }>;

/** How a handler sends to the room here: each logged message is appended once per event. */
interface Out {
  send(message: ServerMessage, except?: readonly string[], logKey?: string): Promise<void>;
  /** The message's log position (appended now, or as the event's origin had it). */
  seq(message: ServerMessage, logKey: string): Seq;
}
/** For an event of a room this instance does not hold. */
const NOWHERE: Out = { send: async () => {}, seq: async () => undefined };
type Handlers = { [T in RoomEvent["type"]]: (event: Of<T>, live: LiveRoom | undefined, out: Out) => Promise<void> | void };

export class RoomEvents {
  /** This instance, as the origin of the events it publishes. */
  readonly instanceId = randomUUID();
  private unsubscribe: (() => void) | undefined;
  /** Events leave for the bus in publish order, each once its log positions are known. */
  private outbox: Promise<void> = Promise.resolve();
  private readonly starts = new HeldStarts();

  constructor(private readonly deps: RoomEventsDeps) {}

  start(): void {
    this.unsubscribe = this.deps.bus.subscribe((event) => {
      if (event.origin !== this.instanceId) void this.apply(event);
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /**
   * Publishes to every instance; applied here at once (settles when its messages are out here).
   * The others get it with the log positions its messages got here, so the room log is appended
   * once per message, by its origin.
   */
  publish(event: RoomEvent): Promise<void> {
    const published: PublishedRoomEvent = { ...event, eventId: randomUUID(), origin: this.instanceId };
    const seqs = new Map<string, Seq>();
    const applied = this.apply(published, seqs);
    // The handler has started its appends by now (synchronously); the bus waits for them only.
    this.outbox = this.outbox.then(async () => {
      const known: Record<string, number> = {};
      for (const [key, seq] of seqs) {
        const position = await seq;
        if (position !== undefined) known[key] = position;
      }
      this.deps.bus.publish(seqs.size > 0 ? { ...published, seqs: known } : published);
    });
    return applied;
  }

  /** Applies an event on this instance only. */
  async apply(event: PublishedRoomEvent | RoomEvent, seqs = new Map<string, Seq>()): Promise<void> {
    const published = "eventId" in event ? (event as PublishedRoomEvent) : { ...event, eventId: randomUUID() };
    for (const [key, position] of Object.entries(published.seqs ?? {})) seqs.set(key, Promise.resolve(position));
    for (const hook of this.deps.hooks) hook.roomEvent?.(published);
    const live = published.code === undefined ? undefined : this.deps.rooms.get(published.code);
    try {
      const handler = this.handlers[published.type] as (
        event: PublishedRoomEvent,
        live: LiveRoom | undefined,
        out: Out,
      ) => Promise<void> | void;
      await handler(published, live, live ? this.out(live, seqs) : NOWHERE);
    } catch (err) {
      this.deps.logger.error({ err, event: published.type }, "room event failed");
    }
  }

  private out(live: LiveRoom, seqs: Map<string, Seq>): Out {
    const seq = (message: ServerMessage, logKey: string): Seq => {
      let position = seqs.get(logKey);
      if (!position) seqs.set(logKey, (position = this.deps.fanout.append(live, message, logKey)));
      return position;
    };
    return {
      seq,
      send: (message, except, logKey) =>
        this.deps.fanout.send(live, message, except, logKey, logKey === undefined ? undefined : seq(message, logKey)),
    };
  }

  private quietly(work: void | Promise<void>, what: string): void {
    Promise.resolve(work).catch((err: unknown) => this.deps.logger.error({ err }, `${what} failed`));
  }

  private readonly handlers: Handlers = {
    "sessions.revoked": (event) => {
      const revoked = new Set(event.sessionIds);
      for (const room of this.deps.rooms.all()) {
        for (const member of [...room.members.values()]) {
          if (revoked.has(member.user.session_id)) member.connection.close(CLOSE_CODES.UNAUTHENTICATED, "Session ended");
        }
      }
    },
    "room.deleted": (event, live, out) => this.ended(event, live, out, true),
    "room.expired": (event, live, out) => this.ended(event, live, out, false),
    "room.chat_toggled": (event, live, out) => {
      if (!live) return;
      live.chatEnabled = event.enabled;
      return this.chatStatus(live, event.eventId, out);
    },
    "room.slow_mode_changed": (event, live, out) => {
      if (!live) return;
      live.slowModeSeconds = event.seconds;
      return this.chatStatus(live, event.eventId, out);
    },
    "room.source_changed": async (event, live, out) => {
      if (!live) return;
      live.media = event.source;
      live.playback = event.playback;
      void out.send({ type: "SOURCE_CHANGED", ...event.source }, undefined, `event:${event.eventId}`);
      // The queue starts its next item at a scheduled moment, like a PLAY (held for legacy clients).
      await this.starts.send(live, event.playback, out.send, `playback:${event.playback.version}`);
    },
    "room.playback_changed": (event, live, out) => {
      // Older or repeated versions are ignored, so each instance sends each version once.
      if (!live || event.playback.version <= live.playback.version) return;
      live.playback = event.playback;
      return this.starts.send(live, event.playback, out.send, `playback:${event.playback.version}`);
    },
    "room.party_changed": (event, live, out) => {
      if (!live) return;
      live.partyStartsAt = event.startsAt;
      const message = { type: "PARTY_STARTS_AT", starts_at: event.startsAt, server_time: Date.now(), reason: event.reason } as const;
      return out.send(message, undefined, `event:${event.eventId}`);
    },
    "room.buffering_policy_changed": (event, live, out) =>
      live && out.send({ type: "BUFFERING_POLICY", ...event.policy }, undefined, `event:${event.eventId}`),
    "member.removed": (event, live) => {
      for (const member of [...(live?.members.values() ?? [])]) {
        if (member.user.id === event.userId) member.connection.close(event.closeCode, event.reason);
      }
    },
    "room.roles_changed": (event, live, out) => {
      if (!live) return;
      const before = live.roles.cohosts;
      live.roles = event.roles;
      live.rolesFromEvent = true;
      void out.send({ type: "COHOSTS_CHANGED", ...event.roles }, undefined, `event:${event.eventId}`);
      const changed = [
        ...before.filter((id) => !event.roles.cohosts.includes(id)),
        ...event.roles.cohosts.filter((id) => !before.includes(id)),
      ];
      this.rosterUpdate(live, changed);
      return this.deps.roster.refresh(live);
    },
    "room.host_changed": (event, live, out) => {
      if (!live) return;
      const before = [live.hostId, ...live.roles.cohosts];
      live.hostId = event.hostId;
      live.roles = { ...live.roles, cohosts: live.roles.cohosts.filter((id) => id !== event.hostId) };
      for (const member of live.members.values()) member.isHost = isHost(member.user, { host_id: event.hostId });
      const message = {
        type: "HOST_CHANGED",
        host_id: event.hostId,
        host: event.hostName,
        previous_host_id: event.previousHostId,
        reason: event.reason,
        reclaim_until: event.reclaimUntil,
      } as const;
      void out.send(message, undefined, `event:${event.eventId}`);
      this.rosterUpdate(live, [...new Set([...before, event.hostId])]);
      return this.deps.roster.refresh(live);
    },
    "participant.approved": (_event, live) => live && this.deps.roster.refresh(live),
    "participant.rejected": (_event, live) => live && this.deps.roster.refresh(live),
    "participant.requested": (event, live) => {
      // To the host's tabs here (not logged: after a resume the host lists them over REST).
      for (const member of live?.members.values() ?? []) {
        if (member.user.id === live!.hostId)
          member.connection.send({ type: "JOIN_REQUESTED", user_id: event.userId, display_name: event.displayName });
      }
    },
    // Joins and leaves change the roster here at once. Delta-presence clients get USER_JOINED /
    // USER_LEFT (or ROSTER_UPDATE) now; the others get them with their paced roster run.
    "member.joined": (event, live, out) => {
      if (!live) return;
      const changed = live.roster.join(event.userId, event.displayName);
      if (event.first) {
        const message = {
          type: "USER_JOINED",
          user: event.displayName,
          user_id: event.userId,
          member: live.roster.member(event.userId, live, event.displayName),
          online: live.roster.onlineCount,
        } as const;
        const seq = out.seq(message, `event:${event.eventId}`);
        const delta = rosterAudience.delta(live);
        void this.deps.fanout.send(live, message, () => [...delta(), ...event.except], undefined, seq);
        live.rosterRun.joined.push({ message, except: event.except, seq });
      } else if (changed) {
        this.rosterUpdate(live, [event.userId]);
      }
      return this.deps.roster.refresh(live);
    },
    "member.left": (event, live, out) => {
      if (!live || live.closed) return;
      live.roster.leave(event.userId);
      if (event.graceEndsAt) {
        const message = { type: "HOST_DISCONNECTED", grace_seconds: this.deps.graceSeconds, grace_ends_at: event.graceEndsAt } as const;
        void out.send(message, event.except, `event:${event.eventId}`);
        this.rosterUpdate(live, [event.userId]);
      } else {
        const message = {
          type: "USER_LEFT",
          user: event.displayName,
          user_id: event.userId,
          member: live.roster.member(event.userId, live, event.displayName),
          online: live.roster.onlineCount,
        } as const;
        const seq = out.seq(message, `event:${event.eventId}`);
        void this.deps.fanout.send(live, message, rosterAudience.delta(live), undefined, seq);
        live.rosterRun.left.push({ message, seq });
      }
      return this.deps.roster.refresh(live);
    },
    "host.returned": (event, live, out) => live && out.send({ type: "HOST_RECONNECTED" }, event.except, `event:${event.eventId}`),
    "roster.changed": (event, live) => {
      if (!live) return;
      if (event.offline && live.roster.leave(event.offline)) this.rosterUpdate(live, [event.offline]);
      return this.deps.roster.refresh(live);
    },
    "room.broadcast": (event, live, out) => live && out.send(event.message, event.except, event.logKey ?? `event:${event.eventId}`),
  };

  /** Tells delta-presence clients here the current entries of these users (not logged: a resume re-sends the roster). */
  private rosterUpdate(live: LiveRoom, userIds: readonly string[]): void {
    if (userIds.length === 0 || live.rosterSubscribers.size === 0) return;
    const members = userIds.filter((id) => live.roster.has(id)).map((id) => live.roster.member(id, live));
    if (members.length === 0) return;
    const message = { type: "ROSTER_UPDATE" as const, members, removed: [], online: live.roster.onlineCount };
    void this.deps.fanout.send(live, message, rosterAudience.delta(live));
  }

  private chatStatus(live: LiveRoom, eventId: string, out: Out): Promise<void> {
    const message = { type: "CHAT_STATUS", enabled: live.chatEnabled, slow_mode_seconds: live.slowModeSeconds } as const;
    return out.send(message, undefined, `event:${eventId}`);
  }

  /** Deleted or expired: the room's last messages go out, then every socket closes. */
  private ended(event: Of<"room.deleted" | "room.expired">, live: LiveRoom | undefined, out: Out, deleted: boolean): void {
    this.quietly(this.deps.scheduler.cancel(event.roomId), "cancel grace");
    this.quietly(this.deps.state.clearRoom(event.roomId), "clear room state");
    this.deps.chat.forgetRoom(event.roomId);
    if (this.deps.log) this.quietly(this.deps.log.clearRoom(event.roomId), "clear room log");
    if (!live || live.closed) return; // (a repeated announcement: the sockets are closing)
    live.closed = true;
    void out.send(deleted ? { type: "ROOM_DELETED" } : { type: "ROOM_EXPIRED" }).then(() => {
      for (const member of [...live.members.values()]) {
        member.connection.close(deleted ? CLOSE_CODES.ROOM_INACTIVE : CLOSE_CODES.GRACE_EXPIRED, deleted ? "Room deleted" : "Room expired");
      }
    });
  }
}
