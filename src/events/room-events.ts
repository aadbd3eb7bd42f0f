/**
 * Domain events about rooms, published after a committed change: by services (REST, workers) and
 * by the realtime hub, whose room broadcasts all cross instances this way. Every instance holding
 * the room turns an event into messages for its own connections; the instance that published an
 * event (its `origin`) has applied it already and ignores it when the bus brings it back. REST and
 * workers never touch sockets directly.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { PartyReason, ServerMessage } from "@streamit/protocol";
import type { BufferingPolicy } from "../buffering/policy.js";
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
  /** The room's party time was set, moved or cleared, or it came (`startsAt` null; see party/service.ts). */
  | { type: "room.party_changed"; roomId: string; code: string; startsAt: string | null; reason: PartyReason }
  /** The host changed the buffering policy (the whole new policy). */
  | { type: "room.buffering_policy_changed"; roomId: string; code: string; policy: BufferingPolicy }
  | { type: "member.removed"; roomId: string; code: string; userId: string; closeCode: number; reason: string }
  /**
   * A user's last connection left the room (or vanished with a dead instance: reaped presence).
   * With `graceEndsAt` it was the host's, and the room is in grace. `except`: connections not told.
   */
  | {
      type: "member.left";
      roomId: string;
      code: string;
      userId: string;
      displayName: string;
      graceEndsAt: string | null;
      except?: string[];
    }
  /** A connection joined; `first`: the user's first in the room (USER_JOINED, except the joiner). */
  | { type: "member.joined"; roomId: string; code: string; userId: string; displayName: string; first: boolean; except: string[] }
  /** The host came back during grace (HOST_RECONNECTED, except the host's new connection). */
  | { type: "host.returned"; roomId: string; code: string; except: string[] }
  /**
   * Who is online changed without a join or leave to announce: a fresh roster. `offline`: a user
   * whose last connection left (the host, out of grace).
   */
  | { type: "roster.changed"; roomId: string; code: string; offline?: string }
  /** A message for every member of the room (`logKey`: its room log key; `except`: connection ids). */
  | { type: "room.broadcast"; roomId: string; code: string; message: ServerMessage; logKey?: string; except?: string[] }
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

/**
 * Every published event gets an id (so that each instance logs it under the same key). `origin`:
 * the realtime instance that published it and applied it already; `seqs`: the room log positions
 * its messages got there (by log key), which the other instances then need not append again.
 */
export type PublishedRoomEvent = RoomEvent & { eventId: string; origin?: string; seqs?: Record<string, number> };

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
