/**
 * The protocol as data, for the generated reference (docs/protocol.md): every message type of
 * both directions with its schema, who may send it, the errors it can answer with and what it
 * does. Built from the message registry.
 */

import { type ServerMessageType, serverMessageDocs, serverMessages } from "@streamit/protocol";
import type { z } from "zod";
import { type MessageEntry, WHO } from "../protocol/feature.js";
import { features } from "./protocol.js";

export interface MessageDoc {
  type: string;
  direction: "client" | "server";
  /** The feature that owns the message (chat, playback, moderation, …). */
  feature: string;
  /** One or two sentences: what the message does or means. */
  summary: string;
  /** Client messages: who may send it, in words (enforced by the feature's service). */
  who?: string;
  /** Client messages: the ERROR codes its handler can answer with, besides the common ones. */
  errors?: readonly string[];
  schema: z.ZodType;
}

export function messageCatalog(): MessageDoc[] {
  const client = Object.values(features).flatMap((feature) =>
    (Object.entries(feature.messages) as [string, MessageEntry<unknown>][]).map(
      ([type, entry]): MessageDoc => ({
        type,
        direction: "client",
        feature: feature.name,
        summary: entry.summary,
        who: WHO[entry.who],
        errors: entry.errors ?? [],
        schema: entry.schema,
      }),
    ),
  );
  const server = (Object.keys(serverMessages) as ServerMessageType[]).map(
    (type): MessageDoc => ({
      type,
      direction: "server",
      ...serverMessageDocs[type],
      schema: serverMessages[type],
    }),
  );
  return [...client, ...server];
}
