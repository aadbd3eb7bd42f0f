/** What a client message comes back with: the ack of both transports, or an ERROR. */
import type { ErrorCode } from "../errors.js";

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

/** The Socket.IO acknowledgement (and, raw, the ERROR frame when `ok` is false). */
export type Ack = ({ ok: true } & Record<string, unknown>) | { ok: false; error: ProtocolError };

/** The outcome of one client message, mapped by the transport to an ack or an ERROR frame. */
export type CommandResult = { ok: true; data?: Record<string, unknown> } | { ok: false; error: ProtocolError };

export const ok = (data?: Record<string, unknown>): CommandResult => (data ? { ok: true, data } : { ok: true });
export const fail = (code: ErrorCode, message: string): CommandResult => ({ ok: false, error: { code, message } });
