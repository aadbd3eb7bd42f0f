/**
 * docs/protocol.md: the realtime message reference, rendered from `messageCatalog()` (one entry
 * per message type and direction, with its zod schema), the close codes and the error registry.
 * Whatever the catalog leaves empty (feature, summary, who, errors) is simply left out.
 */

import { CLOSE_CODES } from "@streamit/protocol";
import { z } from "zod";
import { ERROR_CODES } from "../errors.js";
import type { MessageDoc } from "../realtime/catalog.js";
import { fieldRows, type JsonSchema } from "./json-schema.js";
import { code, compactTable, generatedNote, page, table } from "./markdown.js";

/** What each close code means to a client (keyed by CLOSE_CODES name; a new code without a line renders without one). */
export const CLOSE_CODE_MEANINGS: Readonly<Record<string, string>> = {
  UNAUTHENTICATED:
    "No token, or an invalid, expired or revoked one (`AUTH_REQUIRED`, `INVALID_TOKEN`); on an open socket, `Token expired` when its token expires without a `REAUTH`, or its session was revoked (logout, refresh-token reuse)",
  ROOM_NOT_FOUND: "No room with that code (Socket.IO: also the root namespace `/`, and a room code not in upper case)",
  FORBIDDEN:
    "Not admitted: no username yet (`USERNAME_REQUIRED`), not a participant (`NOT_A_PARTICIPANT`: join over REST first), waiting for the host's approval (`NOT_APPROVED`), or declined (`JOIN_REJECTED`)",
  GRACE_EXPIRED: "The room expired: its host's grace ran out (members get `ROOM_EXPIRED` first)",
  ROOM_INACTIVE: "The room is deleted or expired (`ROOM_INACTIVE`); members of a room being deleted get `ROOM_DELETED` first",
  BANNED: "Banned from this room (at admission)",
  KICKED: "Kicked or banned while in the room; the reason is `Kicked by host` or `Banned by host`, with `: <reason>` when one was given",
  TOO_MANY_CONNECTIONS:
    "Too many connection attempts or open sockets (per client address, per account), or a sixth room on one Socket.IO connection (`RATE_LIMITED`)",
  SLOW_CONSUMER: "The client stopped reading and its unsent messages passed `SOCKET_SEND_BUFFER_BYTES`: reconnect (to a fresh snapshot)",
  SERVICE_RESTART: "The server is restarting or draining (SIGTERM): reconnect, to another instance if there is one",
  TRY_AGAIN_LATER:
    "The server could not admit or join the client now (a dependency timed out under load, or an unexpected failure): reconnect with a backoff. The server never closes with 1011",
};

/** ERROR codes any client message may be answered with, whatever its handler does. */
export const COMMON_MESSAGE_ERRORS = [
  "VALIDATION_FAILED",
  "RATE_LIMITED",
  "NOT_A_PARTICIPANT",
  "SERVICE_UNAVAILABLE",
  "INTERNAL_ERROR",
] as const;

const DIRECTIONS = [
  { direction: "client", title: "Client → server", io: "input" },
  { direction: "server", title: "Server → client", io: "output" },
] as const;

function featureTitle(feature: string): string {
  const name = feature.trim();
  if (!name) return "Other messages";
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function schemaRows(doc: MessageDoc, io: "input" | "output"): string {
  let schema: JsonSchema;
  try {
    schema = z.toJSONSchema(doc.schema, { io, unrepresentable: "any" }) as JsonSchema;
  } catch (err) {
    return `_The schema could not be rendered (${(err as Error).message})._`;
  }
  const rows = fieldRows(schema);
  if (rows.length === 0) return "No fields besides `type`.";
  return compactTable(
    ["field", "type", "required", "constraints", "description"],
    rows.map((r) => [code(r.field), r.type, r.required ? "yes" : "no", r.constraints, r.description]),
    [0, 1, 2],
  );
}

function messageSection(doc: MessageDoc, io: "input" | "output"): string {
  const facts: string[] = [];
  if (doc.direction === "client" && doc.who?.trim()) facts.push(`- **Who may send it:** ${doc.who.trim()}`);
  const errors = (doc.errors ?? []).filter((e) => e.trim() !== "");
  if (doc.direction === "client" && errors.length > 0) facts.push(`- **Errors:** ${errors.map(code).join(", ")} (besides the common ones)`);
  return page([`#### ${code(doc.type)}`, doc.summary?.trim(), facts.join("\n"), schemaRows(doc, io)]).trimEnd();
}

function overview(catalog: readonly MessageDoc[]): string {
  return compactTable(
    ["message", "direction", "feature", "summary"],
    catalog.map((doc) => [code(doc.type), doc.direction === "client" ? "client → server" : "server → client", doc.feature, doc.summary]),
    [0, 1],
  );
}

function closeCodes(): string {
  const rows = Object.entries(CLOSE_CODES)
    .sort(([, a], [, b]) => a - b)
    .map(([name, value]) => [value, code(name), CLOSE_CODE_MEANINGS[name] ?? ""]);
  return page([
    "## Close codes",
    "A raw WebSocket refusal or removal is a close frame with one of these codes and a reason text (cut to 123 bytes). On Socket.IO a refused connection gets `connect_error` whose `message` is the reason code (`ROOM_NOT_FOUND`, `BANNED`, …) and `data` is `{code, message}`; a connection the server closes later gets `CLOSE {code, reason}` just before the disconnect.",
    table(["code", "name", "meaning"], rows),
  ]).trimEnd();
}

function errorCodes(catalog: readonly MessageDoc[]): string {
  const answeredBy = new Map<string, string[]>();
  for (const doc of catalog) {
    if (doc.direction !== "client") continue;
    for (const error of doc.errors ?? []) answeredBy.set(error, [...(answeredBy.get(error) ?? []), doc.type]);
  }
  const common = new Set<string>(COMMON_MESSAGE_ERRORS);
  const rows = Object.entries(ERROR_CODES).map(([name, status]) => [
    code(name),
    status,
    common.has(name)
      ? "any message"
      : name === "UNKNOWN_EVENT"
        ? "a frame of an unknown type"
        : (answeredBy.get(name) ?? []).map(code).join(", "),
  ]);
  return page([
    "## ERROR codes",
    "Every code of the registry in `src/errors.ts`, with the HTTP status the REST API answers it with. A refused client message is answered with `ERROR {code, message}` (raw WebSocket, and Socket.IO without an ack) or with the ack `{ok: false, error: {code, message}}`. The last column lists the client messages whose handler can answer with the code; those marked *any message* can answer any of them.",
    table(["code", "HTTP status", "answered to"], rows),
  ]).trimEnd();
}

/** The whole page, from the catalog as given (no clock, no environment: the same input gives the same bytes). */
export function renderProtocol(catalog: readonly MessageDoc[]): string {
  const features: string[] = [];
  for (const doc of catalog) if (!features.includes(doc.feature.trim())) features.push(doc.feature.trim());
  const sections = features.map((feature) => {
    const inFeature = catalog.filter((doc) => doc.feature.trim() === feature);
    return page([
      `## ${featureTitle(feature)}`,
      ...DIRECTIONS.map(({ direction, title, io }) => {
        const docs = inFeature.filter((doc) => doc.direction === direction);
        if (docs.length === 0) return undefined;
        return page([`### ${title}`, ...docs.map((doc) => messageSection(doc, io))]).trimEnd();
      }),
    ]).trimEnd();
  });
  return page([
    generatedNote("src/docs/protocol.ts, from messageCatalog() in src/realtime/catalog.ts"),
    "# Realtime protocol reference",
    [
      "Every message both ways is a JSON object whose `type` is the message type; the tables list the other fields. On Socket.IO the event name is the type and the one argument is the same object (a client may leave `type` out; the server's payloads carry it). Client fields are listed as the server accepts them, server fields as the server sends them.",
      `How to connect, the join sequence, waiting for approval, resumable sessions, sync telemetry and the limits: [realtime.md](realtime.md). Any client message may also be answered with ${COMMON_MESSAGE_ERRORS.map(code).join(", ")} (see [ERROR codes](#error-codes)); a frame of an unknown type gets \`UNKNOWN_EVENT\`.`,
    ].join("\n\n"),
    "## Messages",
    overview(catalog),
    ...sections,
    closeCodes(),
    errorCodes(catalog),
  ]);
}
