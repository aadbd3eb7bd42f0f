/**
 * Zod building blocks shared by the route schemas. Messages made with `says()` are the
 * original's exact error strings and are sent as-is; other validation messages get the field
 * name prefixed so a client can tell what was wrong.
 */
import { z } from "zod";

const exactMessages = new Set<string>();

/** Registers an exact, client-facing validation message (e.g. "Room code required"). */
export function says(message: string): string {
  exactMessages.add(message);
  return message;
}

export const isExactMessage = (message: string): boolean => exactMessages.has(message);

export const uuid = (field: string, missing?: string) =>
  z
    .string({ error: missing ? says(missing) : undefined })
    .trim()
    .min(1, missing ? says(missing) : undefined)
    .pipe(z.uuid(says(`${field} must be a valid UUID`)));

/** Required non-empty trimmed string with one message for missing, wrong type and empty. */
export const requiredText = (message: string, max: number) =>
  z
    .string({ error: says(message) })
    .trim()
    .min(1, says(message))
    .max(max);

export const errorBody = z
  .object({
    error: z.string(),
    code: z.string(),
    details: z.unknown().optional(),
  })
  .loose()
  .meta({
    id: "Error",
    description: "Every error answer: a message, a code (docs/protocol.md#error-codes) and, for validation failures, details",
  });

/** Response map entries for the documented error statuses of a route. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, errorBody])) as Record<number, typeof errorBody>;

/** An operation's OpenAPI `security`: alternatives, each a set of schemes (`{}` is "none"). */
type Security = Record<string, string[]>[];

/** A bearer token is required (also the document's default). */
export const bearerAuth: Security = [{ bearerAuth: [] }];
/** No credentials needed (an `Authorization` header is not looked at). */
export const publicAccess: Security = [];
/** A bearer token is looked at when sent (a stale one is ignored), but none is needed. */
export const optionalBearerAuth: Security = [{}, { bearerAuth: [] }];
