/**
 * Every client → server message type, one zod schema each: what the server validates (both
 * transports), what a client may check before sending, and the Socket.IO event map. The server's
 * handler for each type is a registry entry in its feature's folder (src/<feature>/messages.ts),
 * with who may send it and what it does; the server refuses to start if a type here has no entry.
 */
import { z } from "zod";
import { BUFFERING_POLICIES, MEDIA_TYPES } from "./enums.js";
import { commandId, durationSeconds, expectedVersion, reason, seconds, shownText, userId } from "./fields.js";

/** The longest chat message, in code points (longer: MESSAGE_TOO_LONG; the schema allows 10,000 to say so). */
export const CHAT_MAX_LENGTH = 500;
/** The playback rates SET_RATE accepts. */
export const PLAYBACK_RATE_MIN = 0.25;
export const PLAYBACK_RATE_MAX = 2;
/** The reactions a member may send (REACTION): a fixed set, so nothing shown needs moderating. */
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "👏", "🔥", "🎉"] as const;
export type Reaction = (typeof REACTIONS)[number];
/** Why a room's party time is what it is now (PARTY_STARTS_AT `reason`). */
export const PARTY_REASONS = ["scheduled", "cleared", "started", "no_media"] as const;
export type PartyReason = (typeof PARTY_REASONS)[number];
/** A party time: an ISO 8601 time with its offset (`2030-01-01T20:00:00Z`). */
export const partyTime = z.iso.datetime({
  offset: true,
  error: "starts_at must be an ISO 8601 time with an offset, e.g. 2030-01-01T20:00:00Z",
});
/** The most items a room's queue holds. */
export const QUEUE_MAX_ITEMS = 200;

/** `expected_version` of a queue change: apply only if the queue is still at this version. */
const queueVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional();
const episodeNumber = z.number().int().min(1).max(100_000).nullish();

/**
 * A playback change. Added, optional: `command_id` makes a resent command a no-op (acked with
 * `duplicate: true`; ids are per user, remembered for 10 minutes); `expected_version` refuses a
 * command based on a stale state (ERROR STALE_VERSION, and the current PLAYBACK_STATE to the sender).
 */
const playbackCommand = z.object({ time: seconds, command_id: commandId, expected_version: expectedVersion });
const sanction = z.object({ user_id: userId, reason, duration_seconds: durationSeconds });

export const clientMessages = {
  CHAT_MESSAGE: z.object({
    message: shownText(z.string({ error: "message must be a string" }).max(10_000), "message"),
    /**
     * Added, optional: a resend (after a drop or SERVICE_UNAVAILABLE) is acked with
     * `duplicate: true` and not posted again. Ids are per user, remembered for 10 minutes.
     */
    command_id: commandId,
  }),
  PLAY: playbackCommand,
  PAUSE: playbackCommand,
  SEEK: playbackCommand,
  UNDO_SEEK: z.object({ command_id: commandId }),
  /** Added: the playback rate (0.25–2; 1 is normal speed), versioned like PLAY. */
  SET_RATE: z.object({
    rate: z
      .number({ error: "rate must be a number" })
      .min(PLAYBACK_RATE_MIN, `rate must be at least ${PLAYBACK_RATE_MIN}`)
      .max(PLAYBACK_RATE_MAX, `rate must be at most ${PLAYBACK_RATE_MAX}`),
    command_id: commandId,
    expected_version: expectedVersion,
  }),
  /** `reason` and `duration_seconds` added, optional (a timed mute ends by itself). */
  MUTE_USER: sanction,
  UNMUTE_USER: z.object({ user_id: userId }),
  KICK_USER: z.object({ user_id: userId, reason }),
  BAN_USER: sanction,
  UNBAN_USER: z.object({ user_id: userId }),
  /** Added: the host names (`cohost: true`) or un-names a co-host. */
  SET_COHOST: z.object({ user_id: userId, cohost: z.boolean({ error: "cohost must be true or false" }) }),
  RECLAIM_HOST: z.object({}),
  /** Added: the host sets the room's buffering policy (as POST /api/rooms/buffering/; numbers left out keep their values). */
  SET_BUFFERING_POLICY: z.object({
    policy: z.enum(BUFFERING_POLICIES, { error: `policy must be one of ${BUFFERING_POLICIES.join(", ")}` }),
    max_wait_seconds: z
      .number({ error: "max_wait_seconds must be a number" })
      .int("max_wait_seconds must be a whole number")
      .min(1, "max_wait_seconds must be at least 1")
      .max(120, "max_wait_seconds must be at most 120")
      .optional(),
    ready_percent: z
      .number({ error: "ready_percent must be a number" })
      .int("ready_percent must be a whole number")
      .min(1, "ready_percent must be at least 1")
      .max(100, "ready_percent must be at most 100")
      .optional(),
  }),
  /** Added: the host keeps the room (it rests instead of expiring) or makes it ordinary again. */
  SET_PERSISTENT: z.object({ persistent: z.boolean({ error: "persistent must be true or false" }) }),
  PLAYER_EVENT: z.object({
    data: z.object({
      event: z.string().max(40),
      currentTime: seconds.optional(),
      duration: seconds.optional(),
      progress: z.number().min(0).max(100).optional(),
    }),
  }),
  /** Added: the sender gets the queue as QUEUE_UPDATED. */
  QUEUE_GET: z.object({}),
  /** Added: appends a media item (as POST /api/rooms/source/ takes one, plus what is known of it). */
  QUEUE_ADD: z.object({
    provider: z.string({ error: "provider must be a string" }).trim().min(1, "provider required").max(50),
    video_id: z
      .string({ error: "video_id must be a string" })
      .trim()
      .min(1, "video_id required")
      .max(255, "video_id must be at most 255 characters"),
    media_type: z.enum(MEDIA_TYPES).optional(),
    season: episodeNumber,
    episode: episodeNumber,
    title: shownText(z.string().trim().max(200, "title must be at most 200 characters"), "title").nullish(),
    duration: z.number().positive("duration must be positive").max(1e6).nullish(),
    expected_version: queueVersion,
  }),
  /** Added: removes a queued item. */
  QUEUE_REMOVE: z.object({ item_id: z.uuid("item_id must be a valid UUID"), expected_version: queueVersion }),
  /** Added: moves a queued item to position `to` (0 plays next; past the end: last). */
  QUEUE_MOVE: z.object({
    item_id: z.uuid("item_id must be a valid UUID"),
    to: z.number().int("to must be a whole number").min(0, "to must be at least 0"),
    expected_version: queueVersion,
  }),
  /** Added: the queue's next item plays now. */
  NEXT: z.object({ expected_version: queueVersion }),
  /** Added: the sender votes to skip what plays now (`vote: false` takes the vote back). */
  VOTE_SKIP: z.object({ vote: z.boolean({ error: "vote must be true or false" }).default(true) }),
  /** Added: an ephemeral reaction everyone in the room sees (not stored, not in chat history). */
  REACTION: z.object({ emoji: z.enum(REACTIONS, { error: `emoji must be one of ${REACTIONS.join(" ")}` }) }),
  /**
   * Added: schedules the room's party (playback starts by itself at `starts_at`), moves it, or
   * clears it (`null`). The time must be in the future and within the server's limit (30 days).
   */
  SET_PARTY_TIME: z.object({ starts_at: partyTime.nullable() }),
  SYNC_CHECK: z.object({ client_time: seconds }),
  TIME_SYNC: z.object({ client_ts: z.number() }),
  /** Added: sync telemetry, every few seconds. */
  SYNC_REPORT: z.object({ position: seconds, rtt_ms: z.number().min(0).max(60_000), buffering: z.boolean() }),
  REAUTH: z.object({ token: z.string({ error: "token must be a string" }).min(1, "token required").max(4096) }),
} as const;

export type ClientMessageType = keyof typeof clientMessages;
/** A validated client message (the schema's output), with its type. */
export type ClientMessage = { [K in ClientMessageType]: { type: K } & z.output<(typeof clientMessages)[K]> }[ClientMessageType];
export type ClientMessageOf<K extends ClientMessageType> = Extract<ClientMessage, { type: K }>;
/** What a client sends for a type (the schema's input: optional fields may be left out). */
export type ClientPayloadOf<K extends ClientMessageType> = z.input<(typeof clientMessages)[K]>;

export const isClientMessageType = (type: unknown): type is ClientMessageType =>
  typeof type === "string" && Object.hasOwn(clientMessages, type);
