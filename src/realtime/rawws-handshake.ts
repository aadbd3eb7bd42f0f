/**
 * The upgrade request of the raw WebSocket transport: `/ws/room/<code>/` or `/ws/v1/room/<code>/`
 * from an allowed origin, the token and the resume parameters in the query. Only a malformed
 * path or a foreign origin is refused in the HTTP handshake; everything else is decided after
 * the upgrade, as close codes clients can read.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { clientAddress } from "./guard.js";
import { originAllowed } from "./origins.js";
import { type ResumeRequest, resumeRequest } from "./types.js";

const PATH = /^\/ws(?:\/v1)?\/room\/([^/]{1,32})\/?$/;

/** What a client's upgrade request asked for. */
export interface Handshake {
  code: string;
  token: string | null;
  /** The client's address. */
  client: string;
  resume: ResumeRequest | undefined;
  /** `wait=1`: a pending user waits for the host's answer. */
  wait: boolean;
  /** `schedule=1`: the client holds a PLAYBACK_STATE until its `effective_at` itself. */
  schedule: boolean;
  /** `presence=delta`: the client keeps its roster from deltas (see Connection.deltaPresence). */
  deltaPresence: boolean;
}

/** An upgrade refused in the HTTP handshake. */
export interface UpgradeRefusal {
  status: number;
  text: string;
}

/** Reads a room upgrade request: what it asks for, or why it is refused. */
export function readHandshake(
  req: IncomingMessage,
  url: URL,
  options: { allowedOrigins: readonly string[]; trustProxy?: boolean },
): Handshake | UpgradeRefusal {
  const match = PATH.exec(url.pathname);
  if (!match) return { status: 404, text: "Not Found" };
  if (!originAllowed(req.headers.origin, options.allowedOrigins, req.headers.host)) return { status: 403, text: "Forbidden" };
  const query = url.searchParams;
  return {
    code: match[1]!,
    token: query.get("token"),
    client: clientAddress(req.headers, req.socket.remoteAddress, options.trustProxy ?? false),
    resume: resumeRequest(query.get("resume"), query.get("resume_token"), query.get("last_seq")),
    wait: query.get("wait") === "1",
    schedule: query.get("schedule") === "1",
    deltaPresence: query.get("presence") === "delta",
  };
}

export function refuse(socket: Duplex, { status, text }: UpgradeRefusal): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
