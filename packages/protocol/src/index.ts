/**
 * @streamit/protocol: StreamIt's wire contract, browser-safe (zod only). The server validates
 * with these schemas and its docs are generated from them; clients import the types and, if
 * they like, validate before sending.
 */
export {
  CHAT_MAX_LENGTH,
  type ClientMessage,
  type ClientMessageOf,
  type ClientMessageType,
  type ClientPayloadOf,
  clientMessages,
  isClientMessageType,
  PARTY_REASONS,
  type PartyReason,
  PLAYBACK_RATE_MAX,
  PLAYBACK_RATE_MIN,
  partyTime,
  QUEUE_MAX_ITEMS,
  REACTIONS,
  type Reaction,
} from "./client-messages.js";
export { CLOSE_CODES, MAX_FRAME_BYTES } from "./close-codes.js";
export {
  BUFFERING_POLICIES,
  type BufferingPolicyName,
  bufferingPolicyFields,
  MEDIA_TYPES,
  type MediaCapabilities,
  type MediaType,
  mediaCapabilities,
  mediaSourceFields,
  queueItemFields,
  SUCCESSION_POLICIES,
  type SuccessionPolicy,
} from "./enums.js";
export { ERROR_CODES, type ErrorCode } from "./error-codes.js";
export type { ClientToServerEvents, ServerToClientEvents } from "./events.js";
export { commandId, durationSeconds, expectedVersion, reason, SANCTION_MAX_SECONDS, seconds, shownText, userId } from "./fields.js";
export { parseClientMessage } from "./parse.js";
export type { Ack, ProtocolError } from "./results.js";
export { type ServerMessage, type ServerMessageOf, type ServerMessageType, serverMessageDocs, serverMessages } from "./server-messages.js";
export { displayNameProblem, encodingProblem, findEncodingProblem, messageProblem } from "./text.js";
