/** Validation of a decoded client frame, as the server does it (a client may check before sending). */
import type { z } from "zod";
import { type ClientMessage, clientMessages, isClientMessageType } from "./client-messages.js";
import type { ProtocolError } from "./results.js";
import { findEncodingProblem } from "./text.js";

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
