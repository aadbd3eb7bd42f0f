/**
 * The realtime protocol, one zod schema per message type. It is the single source of truth for
 * both transports (raw WebSocket frames and Socket.IO events), for validation, and for the
 * TypeScript event maps that typed socket.io-client users import.
 */
import { z } from "zod";
import type { ErrorCode } from "../errors.js";
import { mediaSourceFields } from "../rooms/events.js";

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
} as const;
export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** Frames larger than this (UTF-8 bytes) get ERROR VALIDATION_FAILED. */
export const MAX_FRAME_BYTES = 8 * 1024;
export const CHAT_MAX_LENGTH = 500;

const seconds = z.number().min(0).max(1e7);
const userId = z.uuid("user_id must be a valid UUID");

// ---- client → server -------------------------------------------------------------------

/**
 * PLAY / PAUSE / SEEK. Added, optional: `command_id` makes a resent command a no-op (acked with
 * `duplicate: true`); `expected_version` refuses a command based on a stale state (ERROR
 * STALE_VERSION, and the current PLAYBACK_STATE to the sender) instead of applying it.
 */
const playbackCommand = z.object({
  time: seconds,
  command_id: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, "command_id must be 1-64 letters, digits, or . _ : -")
    .optional(),
  expected_version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const clientMessages = {
  CHAT_MESSAGE: z.object({ message: z.string({ error: "message must be a string" }).max(10_000) }),
  MUTE_USER: z.object({ user_id: userId }),
  UNMUTE_USER: z.object({ user_id: userId }),
  KICK_USER: z.object({ user_id: userId }),
  BAN_USER: z.object({ user_id: userId }),
  UNBAN_USER: z.object({ user_id: userId }),
  PLAY: playbackCommand,
  PAUSE: playbackCommand,
  SEEK: playbackCommand,
  PLAYER_EVENT: z.object({
    data: z.object({
      event: z.string().max(40),
      currentTime: seconds.optional(),
      duration: seconds.optional(),
      progress: z.number().min(0).max(100).optional(),
    }),
  }),
  SYNC_CHECK: z.object({ client_time: seconds }),
  TIME_SYNC: z.object({ client_ts: z.number() }),
} as const;

export type ClientMessageType = keyof typeof clientMessages;
export type ClientMessage = {
  [K in ClientMessageType]: { type: K } & z.output<(typeof clientMessages)[K]>;
}[ClientMessageType];

export const isClientMessageType = (type: unknown): type is ClientMessageType =>
  typeof type === "string" && Object.hasOwn(clientMessages, type);

// ---- server → client -------------------------------------------------------------------

const member = z.object({ id: z.uuid(), display_name: z.string(), is_host: z.boolean(), online: z.boolean() });
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
  USER_MUTED: z.object({ user_id: z.uuid(), muted: z.boolean() }),
  ROOM_DELETED: z.object({}),
  ROOM_EXPIRED: z.object({}),
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
  const parsed = clientMessages[type].safeParse(frame);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    return { ok: false, error: { code: "VALIDATION_FAILED", message: `${where}${issue.message}` } };
  }
  return { ok: true, message: { ...parsed.data, type } as ClientMessage };
}
