/**
 * The realtime protocol, composed from the features' message registries: one zod schema per
 * message type, the single source of truth for both transports (raw WebSocket frames and
 * Socket.IO events), for validation, for the TypeScript event maps that typed socket.io-client
 * users import, and for docs/protocol.md. A client message type is declared once, by the
 * feature that owns it (src/<feature>/messages.ts); server messages are in
 * src/protocol/server-messages.ts.
 */
import type { z } from "zod";
import { sessionFeature } from "../auth/messages.js";
import { chatFeature } from "../chat/messages.js";
import { moderationFeature } from "../moderation/messages.js";
import { playbackFeature } from "../playback/messages.js";
import { progressFeature } from "../progress/messages.js";
import type { Feature, MessageEntry } from "../protocol/feature.js";
import type { Ack, ProtocolError } from "../protocol/results.js";
import type { ServerMessageOf, ServerMessageType } from "../protocol/server-messages.js";
import { rolesFeature } from "../rooms/messages.js";
import { syncFeature } from "../sync/messages.js";
import { findEncodingProblem } from "../text.js";

export { CHAT_MAX_LENGTH } from "../chat/messages.js";
export { CLOSE_CODES, MAX_FRAME_BYTES } from "../protocol/close-codes.js";
export { SANCTION_MAX_SECONDS } from "../protocol/fields.js";
export type { Ack, ProtocolError } from "../protocol/results.js";
export { type ServerMessage, type ServerMessageOf, type ServerMessageType, serverMessages } from "../protocol/server-messages.js";

/** Every feature with client messages, by name (the name is also the docs' section). */
export const features = {
  chat: chatFeature,
  playback: playbackFeature,
  moderation: moderationFeature,
  roles: rolesFeature,
  progress: progressFeature,
  sync: syncFeature,
  session: sessionFeature,
} as const;
type Features = typeof features;
export type FeatureName = keyof Features;

/** What each feature's handlers get as `ctx.services`, by feature name (the app provides it). */
export type FeatureServices = { [F in FeatureName]: Features[F] extends Feature<infer S, infer _Entries> ? S : never };

const entries = {
  ...chatFeature.messages,
  ...playbackFeature.messages,
  ...moderationFeature.messages,
  ...rolesFeature.messages,
  ...progressFeature.messages,
  ...syncFeature.messages,
  ...sessionFeature.messages,
};
type Entries = typeof entries;

/** One schema per client message type. */
export const clientMessages = Object.fromEntries(Object.entries(entries).map(([type, e]) => [type, e.schema])) as {
  [K in keyof Entries]: Entries[K]["schema"];
};

/** Each client message type's feature (a type declared by two features is refused on load). */
export const featureOf: ReadonlyMap<string, FeatureName> = (() => {
  const owners = new Map<string, FeatureName>();
  for (const [name, feature] of Object.entries(features) as [FeatureName, Feature<unknown>][]) {
    for (const type of Object.keys(feature.messages)) {
      if (owners.has(type)) throw new Error(`${type} is declared by both ${owners.get(type)} and ${name}`);
      owners.set(type, name);
    }
  }
  return owners;
})();

/** The registry entry of a client message type. */
export const entryOf = (type: ClientMessageType): MessageEntry<unknown> => entries[type] as MessageEntry<unknown>;

export type ClientMessageType = keyof typeof clientMessages;
export type ClientMessage = {
  [K in ClientMessageType]: { type: K } & z.output<(typeof clientMessages)[K]>;
}[ClientMessageType];

export const isClientMessageType = (type: unknown): type is ClientMessageType =>
  typeof type === "string" && Object.hasOwn(clientMessages, type);

/** Socket.IO server→client events: the event name is the message type. */
export type ServerToClientEvents = {
  [K in ServerMessageType]: (message: ServerMessageOf<K>) => void;
};

/** Socket.IO client→server events: same payload as the raw frame (`type` optional), optional ack. */
export type ClientToServerEvents = {
  [K in ClientMessageType]: (payload: z.input<(typeof clientMessages)[K]> & { type?: K }, ack?: (result: Ack) => void) => void;
};

const NOT_A_MESSAGE: ProtocolError = { code: "VALIDATION_FAILED", message: "A message must be a JSON object with a type" };

/**
 * Parses an already-decoded frame. Returns the typed message, or a protocol error with the
 * contract's code (VALIDATION_FAILED for bad shapes, UNKNOWN_EVENT for unknown types).
 */
export function parseClientMessage(frame: unknown): { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError } {
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) return { ok: false, error: NOT_A_MESSAGE };
  const type = (frame as { type?: unknown }).type;
  if (typeof type !== "string" || type === "") return { ok: false, error: NOT_A_MESSAGE };
  if (!isClientMessageType(type))
    return { ok: false, error: { code: "UNKNOWN_EVENT", message: `Unknown event type: ${type.slice(0, 40)}` } };
  // NUL and lone surrogates anywhere: refused before the ack, so what is acked, broadcast and
  // stored is the same string (PostgreSQL would store a lone surrogate as U+FFFD).
  const encoding = findEncodingProblem(frame);
  if (encoding) return { ok: false, error: { code: "VALIDATION_FAILED", message: encoding } };
  const parsed = (clientMessages[type] as z.ZodType).safeParse(frame);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    return { ok: false, error: { code: "VALIDATION_FAILED", message: `${where}${issue.message}` } };
  }
  return { ok: true, message: { ...(parsed.data as object), type } as ClientMessage };
}
