/** How a connection ends: the close codes of the wire contract, and the frame size limit. */
/** Close codes (raw WebSocket close frames; `err.data.code` / CLOSE events on Socket.IO). */
export const CLOSE_CODES = {
  UNAUTHENTICATED: 4001,
  ROOM_NOT_FOUND: 4002,
  FORBIDDEN: 4003,
  GRACE_EXPIRED: 4004,
  ROOM_INACTIVE: 4005,
  BANNED: 4010,
  KICKED: 4011,
  /** Too many connection attempts or open sockets (added; code RATE_LIMITED). */
  TOO_MANY_CONNECTIONS: 4029,
  /** The client stopped reading: its unsent messages passed SOCKET_SEND_BUFFER_BYTES (added). */
  SLOW_CONSUMER: 4008,
  /** The server is restarting or draining: reconnect. */
  SERVICE_RESTART: 1012,
  /**
   * The server could not admit or join the client now (a dependency timed out under load, or
   * an unexpected failure): reconnect with a backoff. Added; replaces 1011 (internal error).
   */
  TRY_AGAIN_LATER: 1013,
} as const;

/** Frames larger than this (UTF-8 bytes) get ERROR VALIDATION_FAILED. */
export const MAX_FRAME_BYTES = 8 * 1024;
