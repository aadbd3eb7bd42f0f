/** The outcome of one client message, as a handler returns it (the transport maps it to an ack or an ERROR). */
import type { ErrorCode, ProtocolError } from "@streamit/protocol";

export type { Ack, ProtocolError } from "@streamit/protocol";

/** The outcome of one client message, mapped by the transport to an ack or an ERROR frame. */
export type CommandResult = { ok: true; data?: Record<string, unknown> } | { ok: false; error: ProtocolError };

export const ok = (data?: Record<string, unknown>): CommandResult => (data ? { ok: true, data } : { ok: true });
export const fail = (code: ErrorCode, message: string): CommandResult => ({ ok: false, error: { code, message } });
