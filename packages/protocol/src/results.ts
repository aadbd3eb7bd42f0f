/** What a client message comes back with: the Socket.IO ack, or (raw WebSocket) an ERROR frame. */
import type { ErrorCode } from "./error-codes.js";

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

/** The Socket.IO acknowledgement (and, raw, the ERROR frame when `ok` is false). */
export type Ack = ({ ok: true } & Record<string, unknown>) | { ok: false; error: ProtocolError };
