/**
 * The protocol as data, for the generated reference (docs/protocol.md): every message type of
 * both directions with its schema, who may send it, the errors it can answer with and what it
 * does. Built from the message registry.
 */
import type { z } from "zod";
import { clientMessages, serverMessages } from "./protocol.js";

export interface MessageDoc {
  type: string;
  direction: "client" | "server";
  /** The feature folder that owns the message (chat, playback, moderation, …). */
  feature: string;
  /** One or two sentences: what the message does or means. */
  summary: string;
  /** Client messages: who may send it, in words (enforced by the feature's service). */
  who?: string;
  /** Client messages: the ERROR codes its handler can answer with, besides the common ones. */
  errors?: readonly string[];
  schema: z.ZodType;
}

// Stub until the registry lands: the schemas only.
export function messageCatalog(): MessageDoc[] {
  return [
    ...Object.entries(clientMessages).map(([type, schema]): MessageDoc => ({ type, direction: "client", feature: "", summary: "", schema })),
    ...Object.entries(serverMessages).map(([type, schema]): MessageDoc => ({ type, direction: "server", feature: "", summary: "", schema })),
  ];
}
