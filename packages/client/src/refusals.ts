/**
 * Whether to reconnect after a refusal or a removal, by its close code (docs/protocol.md). A
 * refusal that will not change by trying again (banned, no such room, kicked, the room ended)
 * ends the room object; a passing condition (a restart, load, a slow link) is retried with a
 * backoff; an expired token is retried only with a fresh one.
 */
import { CLOSE_CODES } from "@streamit/protocol";

export type Verdict = "retry" | "renew-token" | "fatal";

export interface Ending {
  /** The close code (connect_error `data.code`, or CLOSE `code`); undefined: the network, no word from the server. */
  code: number | undefined;
  /** The reason code of a Socket.IO refusal (`err.message`: NOT_APPROVED, BANNED, …), when there is one. */
  reason?: string | undefined;
}

export interface VerdictContext {
  /** A token provider can give a fresh token. */
  canRenewToken: boolean;
  /** The connection asked to wait for the host's approval. */
  waiting: boolean;
}

const PASSING: ReadonlySet<number> = new Set([
  CLOSE_CODES.SERVICE_RESTART,
  CLOSE_CODES.TRY_AGAIN_LATER,
  CLOSE_CODES.SLOW_CONSUMER,
  CLOSE_CODES.TOO_MANY_CONNECTIONS,
]);

export function verdictFor(ending: Ending, context: VerdictContext): Verdict {
  const { code, reason } = ending;
  if (code === undefined || PASSING.has(code)) return "retry";
  if (code === CLOSE_CODES.UNAUTHENTICATED) return context.canRenewToken ? "renew-token" : "fatal";
  // The approval wait ran out without an answer: connecting again keeps waiting.
  if (code === CLOSE_CODES.FORBIDDEN && reason === "NOT_APPROVED" && context.waiting) return "retry";
  return "fatal";
}
