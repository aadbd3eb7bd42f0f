/**
 * Room events → this instance's connections. Every room broadcast crosses instances as a room
 * event on the bus, tagged with the instance that published it: that instance applies it at once
 * (`publish`), the others when the bus brings it, and nobody applies an event twice. One small
 * handler per event type; each settles once its messages are out here.
 */
import { randomUUID } from "node:crypto";
import type { ChatService } from "../chat/service.js";
import type { PublishedRoomEvent, RoomEvent, RoomEventBus } from "../events/room-events.js";
import type { GraceScheduler } from "../lifecycle/scheduler.js";
import { CLOSE_CODES } from "../protocol/close-codes.js";
import type { RoomHooks } from "../protocol/feature.js";
import { isHost } from "../rooms/permissions.js";
import type { RoomLog } from "../state/room-log.js";
import type { RoomFanout } from "./fanout.js";
import type { LiveRoom } from "./live-room.js";
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
type Handlers = { [T in RoomEvent["type"]]: (event: Of<T>, live: LiveRoom | undefined) => Promise<void> | void };

export class RoomEvents {
  /** This instance, as the origin of the events it publishes. */
  readonly instanceId = randomUUID();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: RoomEventsDeps) {}

  start(): void {
    this.unsubscribe = this.deps.bus.subscribe((event) => {
      if (event.origin !== this.instanceId) void this.apply(event);
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Publishes to every instance; applied here at once (settles when its messages are out here). */
  publish(event: RoomEvent): Promise<void> {
    const published: PublishedRoomEvent = { ...event, eventId: randomUUID(), origin: this.instanceId };
    this.deps.bus.publish(published);
    return this.apply(published);
  }

  /** Applies an event on this instance only. */
  async apply(event: PublishedRoomEvent | RoomEvent): Promise<void> {
    const published = "eventId" in event ? (event as PublishedRoomEvent) : { ...event, eventId: randomUUID() };
    for (const hook of this.deps.hooks) hook.roomEvent?.(published);
    const live = published.code === undefined ? undefined : this.deps.rooms.get(published.code);
    try {
      await (this.handlers[published.type] as (event: PublishedRoomEvent, live: LiveRoom | undefined) => Promise<void> | void)(published, live);
    } catch (err) {
      this.deps.logger.error({ err, event: published.type }, "room event failed");
    }
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
    "room.deleted": (event, live) => this.ended(event, live, true),
    "room.expired": (event, live) => this.ended(event, live, false),
    "room.chat_toggled": (event, live) => {
      if (!live) return;
      live.chatEnabled = event.enabled;
      return this.chatStatus(live, event.eventId);
    },
    "room.slow_mode_changed": (event, live) => {
      if (!live) return;
      live.slowModeSeconds = event.seconds;
      return this.chatStatus(live, event.eventId);
    },
    "room.source_changed": async (event, live) => {
      if (!live) return;
      live.media = event.source;
      live.playback = event.playback;
      void this.deps.fanout.send(live, { type: "SOURCE_CHANGED", ...event.source }, undefined, `event:${event.eventId}`);
      await this.deps.fanout.send(live, { type: "PLAYBACK_STATE", ...event.playback }, undefined, `playback:${event.playback.version}`);
    },
    "room.playback_changed": (event, live) => {
      // Older or repeated versions are ignored, so each instance sends each version once.
      if (!live || event.playback.version <= live.playback.version) return;
      live.playback = event.playback;
      return this.deps.fanout.send(live, { type: "PLAYBACK_STATE", ...event.playback }, undefined, `playback:${event.playback.version}`);
    },
    "member.removed": (event, live) => {
      for (const member of [...(live?.members.values() ?? [])]) {
        if (member.user.id === event.userId) member.connection.close(event.closeCode, event.reason);
      }
    },
    "room.roles_changed": (event, live) => {
      if (!live) return;
      live.roles = event.roles;
      live.rolesFromEvent = true;
      void this.deps.fanout.send(live, { type: "COHOSTS_CHANGED", ...event.roles }, undefined, `event:${event.eventId}`);
      return this.deps.roster.refresh(live);
    },
    "room.host_changed": (event, live) => {
      if (!live) return;
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
      void this.deps.fanout.send(live, message, undefined, `event:${event.eventId}`);
      return this.deps.roster.refresh(live);
    },
    "participant.approved": (_event, live) => live && this.deps.roster.refresh(live),
    "participant.rejected": (_event, live) => live && this.deps.roster.refresh(live),
    "participant.requested": (event, live) => {
      // To the host's tabs here (not logged: after a resume the host lists them over REST).
      for (const member of live?.members.values() ?? []) {
        if (member.user.id === live!.hostId) member.connection.send({ type: "JOIN_REQUESTED", user_id: event.userId, display_name: event.displayName });
      }
    },
    "member.joined": (event, live) => {
      if (!live) return;
      if (event.first) {
        const message = { type: "USER_JOINED", user: event.displayName, user_id: event.userId } as const;
        live.roster.joined.push({ message, except: event.except, key: `event:${event.eventId}` });
      }
      return this.deps.roster.refresh(live);
    },
    "member.left": (event, live) => {
      if (!live || live.closed) return;
      if (event.graceEndsAt) {
        const message = { type: "HOST_DISCONNECTED", grace_seconds: this.deps.graceSeconds, grace_ends_at: event.graceEndsAt } as const;
        void this.deps.fanout.send(live, message, event.except, `event:${event.eventId}`);
      } else {
        live.roster.left.push({ message: { type: "USER_LEFT", user: event.displayName, user_id: event.userId }, key: `event:${event.eventId}` });
      }
      return this.deps.roster.refresh(live);
    },
    "host.returned": (event, live) => live && this.deps.fanout.send(live, { type: "HOST_RECONNECTED" }, event.except, `event:${event.eventId}`),
    "roster.changed": (_event, live) => live && this.deps.roster.refresh(live),
    "room.broadcast": (event, live) => live && this.deps.fanout.send(live, event.message, event.except, event.logKey ?? `event:${event.eventId}`),
  };

  private chatStatus(live: LiveRoom, eventId: string): Promise<void> {
    const message = { type: "CHAT_STATUS", enabled: live.chatEnabled, slow_mode_seconds: live.slowModeSeconds } as const;
    return this.deps.fanout.send(live, message, undefined, `event:${eventId}`);
  }

  /** Deleted or expired: the room's last messages go out, then every socket closes. */
  private ended(event: Of<"room.deleted" | "room.expired">, live: LiveRoom | undefined, deleted: boolean): void {
    this.quietly(this.deps.scheduler.cancel(event.roomId), "cancel grace");
    this.quietly(this.deps.state.clearRoom(event.roomId), "clear room state");
    this.deps.chat.forgetRoom(event.roomId);
    if (this.deps.log) this.quietly(this.deps.log.clearRoom(event.roomId), "clear room log");
    if (!live || live.closed) return; // (a repeated announcement: the sockets are closing)
    live.closed = true;
    void this.deps.fanout.send(live, deleted ? { type: "ROOM_DELETED" } : { type: "ROOM_EXPIRED" }).then(() => {
      for (const member of [...live.members.values()]) {
        member.connection.close(deleted ? CLOSE_CODES.ROOM_INACTIVE : CLOSE_CODES.GRACE_EXPIRED, deleted ? "Room deleted" : "Room expired");
      }
    });
  }
}
