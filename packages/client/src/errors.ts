/** The SDK's errors: a refused message, or one that never got an answer. */
import type { ErrorCode } from "@streamit/protocol";

/** Codes of the SDK's own (no server answer): the ack timed out, the socket is down, or the room is closed. */
export type LocalErrorCode = "TIMEOUT" | "DISCONNECTED" | "CLOSED" | "UNSUPPORTED";

export class RoomError extends Error {
  override readonly name = "RoomError";

  constructor(
    readonly code: ErrorCode | LocalErrorCode,
    message: string,
    /** The close code, when the error ends the room (a refusal, a removal). */
    readonly closeCode?: number,
  ) {
    super(message);
  }
}

/** Worth sending again (with the same command_id, so it cannot apply twice). */
export const isRetryable = (err: unknown): boolean =>
  err instanceof RoomError && (err.code === "SERVICE_UNAVAILABLE" || err.code === "TIMEOUT" || err.code === "DISCONNECTED");
