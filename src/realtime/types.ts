/** The seams between the transport-agnostic room hub and the transports. */

import type { ServerMessage } from "@streamit/protocol";
import type { AuthenticatedUser } from "../auth/service.js";
import type { ErrorCode } from "../errors.js";

/**
 * A client dropped as a slow consumer (close 4008) gets this long for its close to get through
 * its backlog; then the connection is cut (a stalled TCP window would hold it for good).
 */
export const SLOW_CONSUMER_CUT_MS = 1000;

/** One client connection, whatever its transport. */
export interface Connection {
  readonly id: string;
  readonly transport: "ws" | "socket.io";
  /** Sends one message to this connection only (with its log position, when it has one). */
  send(message: ServerMessage, seq?: number): void;
  /** Sends an already encoded message (a room log entry) with its seq. */
  sendEncoded(json: string, seq: number): void;
  /** The client asked for a resumable session: logged messages carry their `seq`. */
  readonly resumable: boolean;
  /**
   * The client understands scheduled starts (`schedule=1`): it gets a PLAYBACK_STATE with a
   * future `effective_at` at once and holds it; other clients get it at that moment.
   */
  readonly scheduledStarts: boolean;
  /**
   * The client keeps its roster from deltas (`presence=delta`): it gets the whole roster once, on
   * join, then only USER_JOINED / USER_LEFT / ROSTER_UPDATE, never a broadcast ROOM_PARTICIPANTS.
   */
  readonly deltaPresence: boolean;
  /** Tells the client why (Socket.IO: a CLOSE event) and closes with the code. */
  close(code: number, reason: string): void;
}

/** A transport's fan-out: delivers to its connections in a room, encoding the message once. */
export interface Transport {
  /**
   * To this instance's connections in the room. `seq`: the message's position in the room log;
   * resumable connections get it as a `seq` key.
   */
  broadcast(roomCode: string, message: ServerMessage, except?: ReadonlySet<string>, seq?: number): void;
  /** The hub no longer has anyone in the room on this instance. */
  releaseRoom?(roomCode: string): void;
  /** This transport's open connections here (in a room, being admitted or waiting), by wire. */
  openConnections?(): Record<string, number>;
}

/** What a client presented to resume its session (see RoomHub.enter). */
export interface ResumeRequest {
  /** Absent: a resumable session was asked for (`resume=1`) but there is nothing to resume. */
  token?: string | undefined;
  lastSeq: number;
}

/**
 * Reads a client's resume parameters (query or Socket.IO auth): a resume token with the highest
 * seq it saw, or `resume` = 1/true for a first resumable join; undefined for a plain client.
 */
export function resumeRequest(resume: unknown, token: unknown, lastSeq: unknown): ResumeRequest | undefined {
  const seq = Number(lastSeq ?? 0);
  if (typeof token === "string" && /^[\w-]{16,64}$/.test(token)) {
    return { token, lastSeq: Number.isSafeInteger(seq) && seq >= 0 ? seq : 0 };
  }
  return resume === true || resume === "1" || resume === "true" ? { lastSeq: 0 } : undefined;
}

export interface HubLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface Member {
  connection: Connection;
  user: AuthenticatedUser;
  isHost: boolean;
  /** The session's current resume token (resumable connections only). */
  resumeToken?: string | undefined;
  /** Gives back the connection's open-socket slot (see ConnectionGuard). */
  release?: (() => void) | undefined;
  /** Closes the connection when its access token expires (re-armed by REAUTH). */
  expiry?: NodeJS.Timeout | undefined;
}

/** A message with its log position, as resumable clients get it (the `seq` key last). */
export const withSeq = (json: string, seq: number | undefined): string => (seq === undefined ? json : `${json.slice(0, -1)},"seq":${seq}}`);

/** Why a connection was refused: the close code, the reason code and a message. */
export class JoinRejected extends Error {
  override name = "JoinRejected";
  constructor(
    readonly closeCode: number,
    readonly reason: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A frame a transport could not decode; it still passes flood control before its error. */
export class InvalidFrame {
  constructor(readonly reason: string) {}
}
