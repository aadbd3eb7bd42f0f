/** What this instance knows about a room that has local connections. */

import type { ServerMessage } from "@streamit/protocol";
import type { Room } from "../../db/schema.js";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import type { RoomView } from "../protocol/feature.js";
import type { MediaSource } from "../rooms/media.js";
import { type RoomRoles, rolesOf } from "../rooms/roles-model.js";
import { RoomRoster, type RosterLimits } from "./roster.js";
import type { Member } from "./types.js";

/** A message's room log position, once appended (undefined: not logged, the log failed or was slow). */
export type Seq = Promise<number | undefined>;

/** The paced roster run: what waits to go out (see roster-pacing.ts). */
export interface RosterQueue {
  dirty: boolean;
  running: boolean;
  left: { message: ServerMessage; seq: Seq }[];
  joined: { message: ServerMessage; except: readonly string[]; seq: Seq }[];
  /** Resolved once a roster built after their request has been sent. */
  waiters: (() => void)[];
  lastSentAt: number;
}

export interface LiveRoom extends RoomView {
  readonly id: string;
  readonly code: string;
  hostId: string;
  chatEnabled: boolean;
  slowModeSeconds: number;
  media: MediaSource;
  playback: PlaybackSnapshot;
  /** The scheduled party's start (ISO), or null: joiners get PARTY_STARTS_AT while it is set. */
  partyStartsAt: string | null;
  members: Map<string, Member>;
  /** Set once the room is deleted or expired: leaving members then trigger nothing. */
  closed: boolean;
  /** Who is in the room (approved participants, online or not), kept from events. */
  roster: RoomRoster;
  /** Delta-presence connections that have their roster snapshot: they get its changes. */
  rosterSubscribers: Set<string>;
  rosterRun: RosterQueue;
  /** Room broadcasts go out in this order, each after its log append (see fanout.ts). */
  sendChain: Promise<void>;
  /** Co-hosts and what they may do (display only: commands are judged in the database). */
  roles: RoomRoles;
  /** Set once roles came from an event: a slower initial load must not overwrite them. */
  rolesFromEvent: boolean;
  /** Settles once the room's durable mutes are in the realtime state and its roles are loaded. */
  ready: Promise<void>;
  /** Set while the room waits for its last sends before this instance lets go of it. */
  dropping?: boolean;
}

export function createLiveRoom(room: Room, playback: PlaybackSnapshot, rosterLimits: RosterLimits): LiveRoom {
  return {
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
      item_id: room.media_item_id,
      title: room.media_title,
      duration: room.media_duration_seconds,
      // Like embed_url, filled in by the provider when the media changes (SOURCE_CHANGED): clients never see this copy.
      thumbnail: null,
      capabilities: null,
    },
    playback,
    partyStartsAt: room.party_starts_at?.toISOString() ?? null,
    members: new Map(),
    closed: false,
    roster: new RoomRoster(rosterLimits),
    rosterSubscribers: new Set(),
    rosterRun: { dirty: false, running: false, left: [], joined: [], waiters: [], lastSentAt: 0 },
    sendChain: Promise.resolve(),
    roles: rolesOf(room, []),
    rolesFromEvent: false,
    ready: Promise.resolve(),
  };
}

/**
 * The two roster audiences, as `except` lists for a send (asked when the message goes out).
 * Legacy: every connection without delta presence (broadcast ROOM_PARTICIPANTS, paced).
 * Delta: the delta-presence connections that have their snapshot (its changes, at once).
 */
export const rosterAudience = {
  legacy: (live: LiveRoom) => () => [...live.members.values()].filter((m) => m.connection.deltaPresence).map((m) => m.connection.id),
  delta: (live: LiveRoom) => () => [...live.members.keys()].filter((id) => !live.rosterSubscribers.has(id)),
};

/** True while the room has a connection without delta presence here (it needs broadcast rosters). */
export const hasLegacyMembers = (live: LiveRoom): boolean => [...live.members.values()].some((m) => !m.connection.deltaPresence);
