/**
 * The message registry's building blocks. A feature (chat, playback, moderation, …) declares each
 * client message it owns as one entry, `{ schema, who, summary, errors, handle }`, in its own
 * folder; src/realtime/protocol.ts composes the entries into the validation, the Socket.IO event
 * maps and the docs. A handler sees a narrow context, never the hub: the room as this instance
 * knows it, the sender, `reply`, `broadcast`, `publish`, the command ledger and the feature's
 * own services. (Models: Colyseus `onMessage(type, validate(schema, handler))`, Hocuspocus hooks.)
 */

import type { ServerMessage } from "@streamit/protocol";
import type { z } from "zod";
import type { AuthenticatedUser } from "../auth/service.js";
import type { ErrorCode } from "../errors.js";
import type { PublishedRoomEvent, RoomEvent } from "../events/room-events.js";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import type { MediaSource } from "../rooms/media.js";
import type { RoomRoles } from "../rooms/roles-model.js";
import type { CommandResult } from "./results.js";

/** Who may send a message, as the docs say it (the feature's service enforces it, in the database). */
export const WHO = {
  member: "any member of the room",
  host: "the host",
  playback: "the host, and co-hosts when the room lets co-hosts control playback",
  moderator: "the host, and co-hosts when the room lets co-hosts moderate",
  previousHost: "the host who lost the room to succession, within the reclaim window",
} as const;
export type Who = keyof typeof WHO;

/** One member connection as a handler sees it. */
export interface Sender {
  readonly connection: { readonly id: string; send(message: ServerMessage): void };
  readonly user: AuthenticatedUser;
  /** This instance's copy (for display); permissions are judged in the database. */
  readonly isHost: boolean;
}

/** A live room as this instance knows it (its copy follows other instances through room events). */
export interface RoomView {
  readonly id: string;
  readonly code: string;
  readonly hostId: string;
  readonly chatEnabled: boolean;
  /** Chat slow mode for viewers (0 = off). */
  readonly slowModeSeconds: number;
  readonly media: MediaSource;
  readonly playback: PlaybackSnapshot;
  readonly roles: RoomRoles;
  /** Set once the room is deleted or expired. */
  readonly closed: boolean;
  /** The room's connections on this instance, by connection id. */
  readonly members: ReadonlyMap<string, Sender>;
}

/** A room event of the context's room: the room id and code are filled in. */
export type EventOfRoom = RoomEvent extends infer E
  ? E extends { roomId: string; code: string }
    ? Omit<E, "roomId" | "code">
    : never
  : never;

export interface MessageContext<Services> {
  readonly room: RoomView;
  readonly sender: Sender;
  readonly services: Services;
  /** To the sender's connection only. */
  reply(message: ServerMessage): void;
  /**
   * To the room's members on every instance, in the room's send order. `logKey`: appended to
   * the room log once (resumable clients get its seq); `except`: connection ids left out.
   * Settles once this instance's members have it.
   */
  broadcast(message: ServerMessage, options?: { logKey?: string; except?: readonly string[] }): Promise<void>;
  /**
   * A room event: applied on this instance at once (settles when its messages are out here) and
   * on every other instance when the bus brings it (an instance never applies its own twice).
   */
  publish(event: EventOfRoom): Promise<void>;
  /** A room event for this instance only (it caught up with a state the others already have). */
  applyHere(event: EventOfRoom): Promise<void>;
  /**
   * Runs `command` once per `key` (none: always), atomically across tabs and instances; a resend
   * is answered by `duplicate()`. A key whose command was refused or failed is released.
   */
  once(key: string | undefined, duplicate: () => CommandResult, command: () => Promise<CommandResult>): Promise<CommandResult>;
}

/** One client message type: its schema, who may send it, what it does, and its handler. */
export interface MessageEntry<Services, Schema extends z.ZodType = z.ZodType> {
  schema: Schema;
  who: Who;
  /** For the docs: what the message does (a sentence or two). */
  summary: string;
  /** For the docs: the ERROR codes the handler answers with, besides the common ones. */
  errors?: readonly ErrorCode[];
  handle(ctx: MessageContext<Services>, message: z.output<Schema>): CommandResult | Promise<CommandResult>;
}

/** A feature's client messages, by type; `Services` is what its handlers get as `ctx.services`. */
export interface Feature<
  Services,
  Entries extends Record<string, MessageEntry<Services, z.ZodType>> = Record<string, MessageEntry<Services, z.ZodType>>,
> {
  readonly name: string;
  readonly messages: Entries;
}

/**
 * Declares a feature's messages: `defineFeature<ChatServices>()("chat", { CHAT_MESSAGE: entry({...}) })`.
 * `entry` infers each handler's message type from its schema.
 */
export function defineFeature<Services>() {
  return <Entries extends Record<string, MessageEntry<Services, z.ZodType>>>(
    name: string,
    messages: Entries,
  ): Feature<Services, Entries> => ({
    name,
    messages,
  });
}

/** One entry, its handler typed by its schema. */
export const entry =
  <Services>() =>
  <Schema extends z.ZodType>(spec: MessageEntry<Services, Schema>): MessageEntry<Services, Schema> =>
    spec;

/**
 * Hooks a feature plugs into the room lifecycle on an instance (sync telemetry, approval waits):
 * a room loaded here, let go here, a room event arrived, the instance drains.
 */
export interface RoomHooks {
  roomOpened?(room: RoomView): void;
  roomClosed?(room: RoomView): void;
  roomEvent?(event: PublishedRoomEvent): void;
  close?(): void;
}
