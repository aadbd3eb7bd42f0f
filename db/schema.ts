/**
 * Hand-written table types for Kysely (see db/migrations). Keep in step with the migrations.
 */
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp with a database default: optional on insert. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** RESTING: a persistent room whose host is away past grace (see migration 0010). */
export const ROOM_STATES = ["CREATED", "LIVE", "GRACE", "RESTING", "EXPIRED", "DELETED"] as const;
export type RoomState = (typeof ROOM_STATES)[number];
export const ENTRY_MODES = ["APPROVAL", "PASSWORD"] as const;
export type EntryMode = (typeof ENTRY_MODES)[number];
export const PARTICIPANT_STATUSES = ["PENDING", "APPROVED"] as const;
export type ParticipantStatus = (typeof PARTICIPANT_STATUSES)[number];

/** Shared with the wire protocol; SUCCESSION_POLICIES: who takes over when the host's grace runs out (see migration 0007). */
import type { BufferingPolicyName, MediaType, SuccessionPolicy } from "@streamit/protocol";

export { MEDIA_TYPES, type MediaType, SUCCESSION_POLICIES, type SuccessionPolicy } from "@streamit/protocol";

export interface UsersTable {
  id: Generated<string>;
  email: string | null;
  username: string | null;
  display_name: string;
  password_hash: string | null;
  is_guest: Generated<boolean>;
  is_active: Generated<boolean>;
  is_staff: Generated<boolean>;
  is_superuser: Generated<boolean>;
  created_at: DefaultTimestamp;
  last_login: NullableTimestamp;
}

export interface AuthSessionsTable {
  id: Generated<string>;
  user_id: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface RoomsTable {
  id: Generated<string>;
  code: string;
  state: Generated<RoomState>;
  host_id: string;
  is_private: Generated<boolean>;
  entry_mode: EntryMode | null;
  entry_password_hash: string | null;
  is_chat_enabled: Generated<boolean>;
  /** Viewers may send one chat message per this many seconds; 0 = off (the host is exempt). */
  chat_slow_mode_seconds: Generated<number>;
  video_provider: Generated<string>;
  video_id: Generated<string>;
  media_type: MediaType | null;
  season: number | null;
  episode: number | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  host_disconnected_at: NullableTimestamp;
  grace_ends_at: NullableTimestamp;
  succession: Generated<SuccessionPolicy>;
  cohosts_control_playback: Generated<boolean>;
  cohosts_moderate: Generated<boolean>;
  /** The host who lost the room to succession; may reclaim it until `reclaim_until`. */
  previous_host_id: string | null;
  reclaim_until: NullableTimestamp;
  /** Grows with every queue change (see migration 0009). */
  queue_version: Generated<number>;
  /** What plays now: new with every source change; skip votes count for it. */
  media_item_id: string | null;
  media_title: string | null;
  media_duration_seconds: number | null;
  /** Vote skip passes when this share (%) of the online members voted. */
  skip_threshold_percent: Generated<number>;
  /** Rests (RESTING) instead of expiring when grace runs out (see migration 0010). */
  is_persistent: Generated<boolean>;
  rested_at: NullableTimestamp;
  /** A scheduled party: playback starts by itself at this moment (cleared by the start; migration 0011). */
  party_starts_at: NullableTimestamp;
  /** Whether a buffering viewer pauses the room, and for how long at most (see migration 0012). */
  buffering_policy: Generated<BufferingPolicyName>;
  buffering_max_wait_seconds: Generated<number>;
  /** wait_for_share: the share (%) of the online members who must be ready to resume. */
  buffering_ready_percent: Generated<number>;
}

export interface RoomQueueItemsTable {
  id: Generated<string>;
  room_id: string;
  /** 0..n-1, dense; 0 plays next. */
  position: number;
  provider: string;
  video_id: string;
  media_type: Generated<MediaType>;
  season: number | null;
  episode: number | null;
  title: string | null;
  duration_seconds: number | null;
  added_by: string | null;
  created_at: DefaultTimestamp;
}

export interface RoomParticipantsTable {
  room_id: string;
  user_id: string;
  status: Generated<ParticipantStatus>;
  joined_at: DefaultTimestamp;
  is_cohost: Generated<boolean>;
}

export interface RoomBansTable {
  room_id: string;
  user_id: string;
  banned_by: string | null;
  created_at: DefaultTimestamp;
  /** The moderator's reason (≤ 200 characters). */
  reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** A timed ban stops applying at this time; NULL = until lifted. */
  expires_at: NullableTimestamp;
}

export interface RoomMutesTable {
  room_id: string;
  user_id: string;
  muted_by: string | null;
  created_at: DefaultTimestamp;
  /** The moderator's reason (≤ 200 characters). */
  reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** A timed mute stops applying at this time; NULL = until lifted. */
  expires_at: NullableTimestamp;
}

export interface ChatMessagesTable {
  id: Generated<string>;
  room_id: string;
  user_id: string;
  message: string;
  created_at: DefaultTimestamp;
  /** Commit order (identity): history and retention order by it. */
  seq: Generated<number>;
}

export interface PlaybackStatesTable {
  room_id: string;
  is_playing: Generated<boolean>;
  position_seconds: Generated<number>;
  rate: Generated<number>;
  version: Generated<number>;
  updated_at: DefaultTimestamp;
}

export interface WatchProgressTable {
  id: Generated<string>;
  user_id: string;
  room_id: string;
  media_id: string;
  media_type: MediaType;
  season: number | null;
  episode: number | null;
  timestamp_seconds: Generated<number>;
  duration_seconds: Generated<number>;
  progress_percent: Generated<number>;
  completed: Generated<boolean>;
  updated_at: DefaultTimestamp;
}

/** The room timeline: append-only (a trigger refuses UPDATE, see migration 0006). */
export interface RoomEventsTable {
  id: Generated<string>;
  room_id: string;
  actor_id: string | null;
  event: string;
  data: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: DefaultTimestamp;
  /** Commit order (identity): the timeline orders and pages by it. */
  seq: Generated<number>;
  /** The moderator's reason, when one was given. */
  reason: ColumnType<string | null, string | null | undefined, never>;
}

export interface RoomInvitesTable {
  id: Generated<string>;
  room_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  max_uses: number;
  uses: Generated<number>;
  revoked_at: NullableTimestamp;
}

export interface Database {
  users: UsersTable;
  auth_sessions: AuthSessionsTable;
  refresh_tokens: RefreshTokensTable;
  rooms: RoomsTable;
  room_participants: RoomParticipantsTable;
  room_bans: RoomBansTable;
  room_mutes: RoomMutesTable;
  chat_messages: ChatMessagesTable;
  playback_states: PlaybackStatesTable;
  watch_progress: WatchProgressTable;
  room_events: RoomEventsTable;
  room_invites: RoomInvitesTable;
  room_queue_items: RoomQueueItemsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Room = Selectable<RoomsTable>;
export type WatchProgress = Selectable<WatchProgressTable>;
