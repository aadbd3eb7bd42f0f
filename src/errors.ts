/**
 * The error-code registry. Domain code throws AppError values with a code from here;
 * each transport maps them (HTTP status + JSON body, WebSocket ERROR frame, close code).
 */

import { ERROR_CODES, type ErrorCode } from "@streamit/protocol";

/** The codes are the wire contract's (@streamit/protocol), each with its HTTP status. */
export { ERROR_CODES, type ErrorCode };

export interface AppErrorOptions {
  /** Extra keys merged into the HTTP body (e.g. the original's `type`/`message` pair). */
  extra?: Record<string, unknown>;
  details?: unknown;
  retryAfterSeconds?: number;
  status?: number;
}

export class AppError extends Error {
  override name = "AppError";
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(message);
    this.status = options.status ?? ERROR_CODES[code];
  }

  /** The JSON body of the HTTP contract: `{error, code, details?}` plus any extra keys. */
  toBody(): Record<string, unknown> {
    return {
      ...this.options.extra,
      error: this.message,
      code: this.code,
      ...(this.options.details === undefined ? {} : { details: this.options.details }),
    };
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

/** Shorthands for the errors the domain raises most. */
export const errors = {
  roomNotFound: () => new AppError("ROOM_NOT_FOUND", "Room not found"),
  notParticipant: () => new AppError("NOT_A_PARTICIPANT", "Not a participant"),
  forbidden: (message: string) => new AppError("PERMISSION_DENIED", message),
  validation: (message: string, details?: unknown) => new AppError("VALIDATION_FAILED", message, { details }),
  rateLimited: (retryAfterSeconds: number, message = "Too many attempts. Please wait.") =>
    new AppError("RATE_LIMITED", message, { retryAfterSeconds }),
};

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "57P01", "57P02", "57P03"]);
// node-redis error classes (they keep the name "Error"; their constructor names tell them apart).
const UNREACHABLE_CLASSES = new Set([
  "TimeoutError",
  "ClientClosedError",
  "ClientOfflineError",
  "SocketClosedUnexpectedlyError",
  "SocketTimeoutError",
  "ConnectionTimeoutError",
  "DisconnectsClientError",
]);
const UNREACHABLE_MESSAGES =
  /Connection terminated|Query read timeout|timeout exceeded when trying to connect|The client is (closed|offline)|Socket closed unexpectedly/;

/**
 * True when an error says a dependency (PostgreSQL, Redis) is unreachable or timed out rather
 * than that the request was wrong: such failures are answered 503 SERVICE_UNAVAILABLE ("retry"),
 * not 500.
 */
export function isDependencyDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = String((err as { code?: unknown }).code ?? "");
  return (
    UNREACHABLE_CODES.has(code) ||
    code.startsWith("08") ||
    UNREACHABLE_CLASSES.has(err.name) ||
    UNREACHABLE_CLASSES.has(err.constructor.name) ||
    UNREACHABLE_MESSAGES.test(err.message)
  );
}
