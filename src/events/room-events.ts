/**
 * Domain events about rooms, published by services after a committed change. The realtime
 * layer subscribes to fan them out to sockets; REST and workers never touch sockets directly.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import type { MediaSource } from "../rooms/media.js";
import type { RoomRoles } from "../rooms/roles-model.js";

export type RoomEvent =
  | { type: "room.deleted"; roomId: string; code: string }
  | { type: "room.expired"; roomId: string; code: string }
  | { type: "room.chat_toggled"; roomId: string; code: string; enabled: boolean }
  | { type: "room.slow_mode_changed"; roomId: string; code: string; seconds: number }
  | { type: "room.source_changed"; roomId: string; code: string; source: MediaSource; playback: PlaybackSnapshot }
  | { type: "room.playback_changed"; roomId: string; code: string; playback: PlaybackSnapshot }
  | { type: "member.removed"; roomId: string; code: string; userId: string; closeCode: number; reason: string }
  /** A user's last connection vanished with a dead instance (reaped presence). */
  | { type: "member.left"; roomId: string; code: string; userId: string; displayName: string; graceEndsAt: string | null }
  /** Co-hosts or the host policy changed (the whole new state). */
  | { type: "room.roles_changed"; roomId: string; code: string; roles: RoomRoles }
  /** Succession (grace ran out) or a reclaim gave the room a new host. */
  | {
      type: "room.host_changed";
      roomId: string;
      code: string;
      hostId: string;
      hostName: string;
      previousHostId: string;
      reason: "succession" | "reclaimed";
      reclaimUntil: string | null;
    }
  /** Someone asked to join an approval room. */
  | { type: "participant.requested"; roomId: string; code: string; userId: string; displayName: string }
  | { type: "participant.approved"; roomId: string; code: string; userId: string }
  | { type: "participant.rejected"; roomId: string; code: string; userId: string }
  /** Sessions ended (logout, refresh-token replay): their open sockets close with 4001. */
  | { type: "sessions.revoked"; roomId?: undefined; code?: undefined; sessionIds: string[] };

/** Every published event gets an id (so that each instance logs it under the same key). */
export type PublishedRoomEvent = RoomEvent & { eventId: string };

export interface RoomEventBus {
  publish(event: RoomEvent): void;
  subscribe(listener: (event: PublishedRoomEvent) => void): () => void;
}

export const withEventId = (event: RoomEvent): PublishedRoomEvent =>
  "eventId" in event && typeof event.eventId === "string" ? (event as PublishedRoomEvent) : { ...event, eventId: randomUUID() };

/** In-process bus (embedded mode, and the local leg of the cluster bus). */
export class LocalRoomEventBus implements RoomEventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: RoomEvent): void {
    this.emitter.emit("event", withEventId(event));
  }

  subscribe(listener: (event: PublishedRoomEvent) => void): () => void {
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }
}
