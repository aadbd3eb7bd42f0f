/** What this instance knows about a room that has local connections. */

import type { ServerMessage } from "@streamit/protocol";
import type { Room } from "../../db/schema.js";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import type { RoomView } from "../protocol/feature.js";
import type { MediaSource } from "../rooms/media.js";
import { type RoomRoles, rolesOf } from "../rooms/roles-model.js";
import type { RosterRoom } from "./roster.js";
import type { Member } from "./types.js";

/** A message's room log position, once appended (undefined: not logged, the log failed or was slow). */
export type Seq = Promise<number | undefined>;

/** Roster broadcasts waiting to go out (see roster-pacing.ts). */
export interface RosterQueue {
  dirty: boolean;
  running: boolean;
  left: { message: ServerMessage; seq: Seq }[];
  joined: { message: ServerMessage; except: readonly string[]; seq: Seq }[];
  /** Resolved once a roster built after their request has been sent. */
  waiters: (() => void)[];
  lastSentAt: number;
}

export interface LiveRoom extends RoomView, RosterRoom {
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
  roster: RosterQueue;
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

export function createLiveRoom(room: Room, playback: PlaybackSnapshot): LiveRoom {
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
    roster: { dirty: false, running: false, left: [], joined: [], waiters: [], lastSentAt: 0 },
    sendChain: Promise.resolve(),
    roles: rolesOf(room, []),
    rolesFromEvent: false,
    ready: Promise.resolve(),
  };
}
