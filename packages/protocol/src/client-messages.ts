/**
 * Every client → server message type, one zod schema each: what the server validates (both
 * transports), what a client may check before sending, and the Socket.IO event map. The server's
 * handler for each type is a registry entry in its feature's folder (src/<feature>/messages.ts),
 * with who may send it and what it does; the server refuses to start if a type here has no entry.
 */
import { z } from "zod";
import { commandId, durationSeconds, expectedVersion, reason, seconds, shownText, userId } from "./fields.js";

/** The longest chat message, in code points (longer: MESSAGE_TOO_LONG; the schema allows 10,000 to say so). */
export const CHAT_MAX_LENGTH = 500;

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
  /** `reason` and `duration_seconds` added, optional (a timed mute ends by itself). */
  MUTE_USER: sanction,
  UNMUTE_USER: z.object({ user_id: userId }),
  KICK_USER: z.object({ user_id: userId, reason }),
  BAN_USER: sanction,
  UNBAN_USER: z.object({ user_id: userId }),
  /** Added: the host names (`cohost: true`) or un-names a co-host. */
  SET_COHOST: z.object({ user_id: userId, cohost: z.boolean({ error: "cohost must be true or false" }) }),
  RECLAIM_HOST: z.object({}),
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
