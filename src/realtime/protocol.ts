/**
 * The realtime protocol, one zod schema per message type. It is the single source of truth for
 * both transports (raw WebSocket frames and Socket.IO events), for validation, and for the
 * TypeScript event maps that typed socket.io-client users import.
 */
import { z } from "zod";
import type { ErrorCode } from "../errors.js";
import { SUCCESSION_POLICIES } from "../../db/schema.js";
import { findEncodingProblem, messageProblem } from "../text.js";
import { mediaSourceFields } from "../rooms/media.js";

/** Close codes (raw WebSocket close frames; `err.data.code` / CLOSE events on Socket.IO). */
export const CLOSE_CODES = {
  UNAUTHENTICATED: 4001,
  ROOM_NOT_FOUND: 4002,
  FORBIDDEN: 4003,
  GRACE_EXPIRED: 4004,
  ROOM_INACTIVE: 4005,
  BANNED: 4010,
  KICKED: 4011,
  /** Too many connection attempts or open sockets (added; code RATE_LIMITED). */
  TOO_MANY_CONNECTIONS: 4029,
  /** The client stopped reading: its unsent messages passed SOCKET_SEND_BUFFER_BYTES (added). */
  SLOW_CONSUMER: 4008,
  /** The server is restarting or draining: reconnect. */
  SERVICE_RESTART: 1012,
  /**
   * The server could not admit or join the client now (a dependency timed out under load, or
   * an unexpected failure): reconnect with a backoff. Added; replaces 1011 (internal error).
   */
  TRY_AGAIN_LATER: 1013,
} as const;

/** Frames larger than this (UTF-8 bytes) get ERROR VALIDATION_FAILED. */
export const MAX_FRAME_BYTES = 8 * 1024;
export const CHAT_MAX_LENGTH = 500;

const seconds = z.number().min(0).max(1e7);
const userId = z.uuid("user_id must be a valid UUID");

// ---- client → server -------------------------------------------------------------------

/** The longest timed mute or ban (longer ones are given without a duration: until lifted). */
export const SANCTION_MAX_SECONDS = 30 * 24 * 3600;
/** Text other people read (chat, reasons): the policy of src/text.ts, refused with its reason. */
const shownText = <T extends z.ZodString>(schema: T, field: string) =>
  schema.superRefine((text, ctx) => {
    const problem = messageProblem(text);
    if (problem) ctx.addIssue({ code: "custom", message: `${field} ${problem}` });
  });
/** The moderator's reason (kick, mute, ban): shown to the room and kept in the timeline. */
const reason = shownText(z.string().trim().max(200, "reason must be at most 200 characters"), "reason").nullish();
const durationSeconds = z
  .number()
  .int("duration_seconds must be a whole number")
  .min(1, "duration_seconds must be at least 1")
  .max(SANCTION_MAX_SECONDS, `duration_seconds must be at most ${SANCTION_MAX_SECONDS} (30 days)`)
  .nullish();

const commandId = z
  .string()
  .regex(/^[\w.:-]{1,64}$/, "command_id must be 1-64 letters, digits, or . _ : -")
  .optional();
/**
 * PLAY / PAUSE / SEEK. Added, optional: `command_id` makes a resent command a no-op (acked with
 * `duplicate: true`; ids are per user, remembered for 10 minutes); `expected_version` refuses a
 * command based on a stale state (ERROR STALE_VERSION, and the current PLAYBACK_STATE to the
 * sender) instead of applying it.
 */
const playbackCommand = z.object({
  time: seconds,
  command_id: commandId,
  expected_version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const clientMessages = {
  /**
   * `command_id` added, optional: a resend (after a drop or SERVICE_UNAVAILABLE) is acked with
   * `duplicate: true` and not posted again. Ids are per user, remembered for 10 minutes.
   */
  CHAT_MESSAGE: z.object({ message: shownText(z.string({ error: "message must be a string" }).max(10_000), "message"), command_id: commandId }),
  /** `reason` and `duration_seconds` added, optional (a timed mute ends by itself). */
  MUTE_USER: z.object({ user_id: userId, reason, duration_seconds: durationSeconds }),
  UNMUTE_USER: z.object({ user_id: userId }),
  KICK_USER: z.object({ user_id: userId, reason }),
  BAN_USER: z.object({ user_id: userId, reason, duration_seconds: durationSeconds }),
  UNBAN_USER: z.object({ user_id: userId }),
  PLAY: playbackCommand,
  PAUSE: playbackCommand,
  SEEK: playbackCommand,
  /**
   * Added: back to where the latest seek not yet undone started, play state kept (a second
   * undo takes the seek before); ERROR NOTHING_TO_UNDO when there is none.
   */
  UNDO_SEEK: z.object({ command_id: commandId }),
  PLAYER_EVENT: z.object({
    data: z.object({
      event: z.string().max(40),
      currentTime: seconds.optional(),
      duration: seconds.optional(),
      progress: z.number().min(0).max(100).optional(),
    }),
  }),
  /** Added: the host names (`cohost: true`) or un-names a co-host. */
  SET_COHOST: z.object({ user_id: userId, cohost: z.boolean({ error: "cohost must be true or false" }) }),
  /** Added: the host who lost the room to succession takes it back (within the reclaim window). */
  RECLAIM_HOST: z.object({}),
  SYNC_CHECK: z.object({ client_time: seconds }),
  TIME_SYNC: z.object({ client_ts: z.number() }),
  /**
   * Added: a fresh access token of the same user (from `POST /api/auth/refresh/`), sent before
   * the current one expires: the connection then lives until the new token's expiry instead of
   * closing with 4001 `Token expired`. Answered by REAUTHED (and the ack).
   */
  REAUTH: z.object({ token: z.string({ error: "token must be a string" }).min(1, "token required").max(4096) }),
  /** Added: sync telemetry, every few seconds (see realtime/sync-telemetry.ts). */
  SYNC_REPORT: z.object({ position: seconds, rtt_ms: z.number().min(0).max(60_000), buffering: z.boolean() }),
} as const;

export type ClientMessageType = keyof typeof clientMessages;
export type ClientMessage = {
  [K in ClientMessageType]: { type: K } & z.output<(typeof clientMessages)[K]>;
}[ClientMessageType];

export const isClientMessageType = (type: unknown): type is ClientMessageType =>
  typeof type === "string" && Object.hasOwn(clientMessages, type);

// ---- server → client -------------------------------------------------------------------

const member = z.object({ id: z.uuid(), display_name: z.string(), is_host: z.boolean(), is_cohost: z.boolean(), online: z.boolean() });
const playbackFields = {
  is_playing: z.boolean(),
  time: z.number(),
  version: z.number().int(),
  /** Epoch milliseconds at which `time` was exact. */
  server_time: z.number(),
  rate: z.number(),
};
const chatEntry = z.object({
  id: z.uuid(),
  user: z.string(),
  user_id: z.uuid(),
  message: z.string(),
  created_at: z.string(),
});

export const serverMessages = {
  CHAT_HISTORY: z.object({ messages: z.array(chatEntry) }),
  PLAYBACK_STATE: z.object(playbackFields),
  ROOM_PARTICIPANTS: z.object({
    participants: z.array(z.string()),
    host: z.string().nullable(),
    members: z.array(member),
    online: z.number().int(),
  }),
  USER_JOINED: z.object({ user: z.string(), user_id: z.uuid() }),
  USER_LEFT: z.object({ user: z.string(), user_id: z.uuid() }),
  HOST_DISCONNECTED: z.object({ grace_seconds: z.number().int(), grace_ends_at: z.string() }),
  HOST_RECONNECTED: z.object({}),
  CHAT_MESSAGE: chatEntry,
  /** Sent when the host toggles chat or changes slow mode (`slow_mode_seconds` added; 0 = off). */
  CHAT_STATUS: z.object({ enabled: z.boolean(), slow_mode_seconds: z.number().int() }),
  SYNC_CORRECTION: z.object(playbackFields),
  TIME_SYNC: z.object({ client_ts: z.number(), server_ts: z.number() }),
  SOURCE_CHANGED: z.object(mediaSourceFields),
  /** `until` (ISO time, null = until lifted) and `reason` only when the mute had a duration or a reason. */
  USER_MUTED: z.object({ user_id: z.uuid(), muted: z.boolean(), until: z.string().nullable().optional(), reason: z.string().nullable().optional() }),
  /** Added: co-hosts or what they may do changed; the whole new state. */
  COHOSTS_CHANGED: z.object({
    cohosts: z.array(z.uuid()),
    succession: z.enum(SUCCESSION_POLICIES),
    cohosts_control_playback: z.boolean(),
    cohosts_moderate: z.boolean(),
  }),
  /**
   * Added: the room has a new host. `succession`: the host's grace ran out and the longest-present
   * co-host (or viewer, per the room's policy) took over; the previous host may reclaim until
   * `reclaim_until`. `reclaimed`: the previous host took the room back.
   */
  HOST_CHANGED: z.object({
    host_id: z.uuid(),
    host: z.string(),
    previous_host_id: z.uuid(),
    reason: z.enum(["succession", "reclaimed"]),
    reclaim_until: z.string().nullable(),
  }),
  /**
   * Added, to clients that asked for a resumable session (`resume=1`, or a resume token): sent
   * after the join. `seq` is the room's log position; every logged room message carries its own
   * `seq` to such clients. Reconnect within `resume_window_seconds` with the token and the highest
   * `seq` seen to get what was missed instead of a full re-join.
   */
  SESSION: z.object({ resume_token: z.string(), resume_window_seconds: z.number().int(), seq: z.number().int() }),
  /**
   * Added: the session resumed. The `missed` logged messages follow, in order, each with its
   * `seq`, then a fresh ROOM_PARTICIPANTS and a new SESSION (no CHAT_HISTORY, no snapshot).
   */
  RESUMED: z.object({ missed: z.number().int(), from_seq: z.number().int() }),
  /** Added: the answer to REAUTH; the connection now lasts until `expires_at` (ISO time). */
  REAUTHED: z.object({ expires_at: z.string() }),
  ROOM_DELETED: z.object({}),
  ROOM_EXPIRED: z.object({}),
  /**
   * Added, raw path with `wait=1`: a pending user's connection waits up to `wait_seconds` for the
   * host's answer. Approved, the normal join follows on the same connection; declined, close 4003
   * `The host declined your request`; no answer in time, close 4003 `Waiting for host approval`
   * (reconnect to keep waiting). Socket.IO (`auth.wait`) has no such message: its connect waits.
   */
  JOIN_PENDING: z.object({ room_id: z.uuid(), code: z.string(), wait_seconds: z.number().int() }),
  /** Added, to the host: someone asked to join an approval room (answer over REST approve/reject). */
  JOIN_REQUESTED: z.object({ user_id: z.uuid(), display_name: z.string() }),
  /** Added: the room's sync quality, to the host only (drifts in seconds; negative = behind). */
  ROOM_SYNC: z.object({
    reporting: z.number().int(),
    drift_p50: z.number(),
    drift_p95: z.number(),
    corrections: z.number().int(),
    buffering: z.number().int(),
    viewers: z.array(
      z.object({
        user_id: z.uuid(),
        display_name: z.string(),
        drift: z.number(),
        rtt_ms: z.number(),
        buffering: z.boolean(),
        behind: z.boolean(),
      }),
    ),
    server_time: z.number(),
  }),
  ERROR: z.object({ code: z.string(), message: z.string() }),
  CLOSE: z.object({ code: z.number().int(), reason: z.string() }),
} as const;

export type ServerMessageType = keyof typeof serverMessages;
/** zod types an empty object as Record<string, never>; a message with no fields is just `{type}`. */
type Fields<T> = T extends Record<string, never> ? unknown : T;
export type ServerMessage = {
  [K in ServerMessageType]: { type: K } & Fields<z.output<(typeof serverMessages)[K]>>;
}[ServerMessageType];
export type ServerMessageOf<K extends ServerMessageType> = Extract<ServerMessage, { type: K }>;

// ---- results and Socket.IO typing ------------------------------------------------------

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export type Ack = ({ ok: true } & Record<string, unknown>) | { ok: false; error: ProtocolError };

/** Socket.IO server→client events: the event name is the message type. */
export type ServerToClientEvents = {
  [K in ServerMessageType]: (message: ServerMessageOf<K>) => void;
};

/** Socket.IO client→server events: same payload as the raw frame (`type` optional), optional ack. */
export type ClientToServerEvents = {
  [K in ClientMessageType]: (
    payload: z.input<(typeof clientMessages)[K]> & { type?: K },
    ack?: (result: Ack) => void,
  ) => void;
};

/**
 * Parses an already-decoded frame. Returns the typed message, or a protocol error with the
 * contract's code (VALIDATION_FAILED for bad shapes, UNKNOWN_EVENT for unknown types).
 */
export function parseClientMessage(frame: unknown): { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError } {
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    return { ok: false, error: { code: "VALIDATION_FAILED", message: "A message must be a JSON object with a type" } };
  }
  const type = (frame as { type?: unknown }).type;
  if (typeof type !== "string" || type === "") {
    return { ok: false, error: { code: "VALIDATION_FAILED", message: "A message must be a JSON object with a type" } };
  }
  if (!isClientMessageType(type)) {
    return { ok: false, error: { code: "UNKNOWN_EVENT", message: `Unknown event type: ${type.slice(0, 40)}` } };
  }
  // NUL and lone surrogates anywhere: refused before the ack, so what is acked, broadcast and
  // stored is the same string (PostgreSQL would store a lone surrogate as U+FFFD).
  const encoding = findEncodingProblem(frame);
  if (encoding) return { ok: false, error: { code: "VALIDATION_FAILED", message: encoding } };
  const parsed = clientMessages[type].safeParse(frame);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    return { ok: false, error: { code: "VALIDATION_FAILED", message: `${where}${issue.message}` } };
  }
  return { ok: true, message: { ...parsed.data, type } as ClientMessage };
}
