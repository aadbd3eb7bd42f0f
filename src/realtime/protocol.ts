/**
 * The server's message registry: every client message type of the wire protocol
 * (@streamit/protocol, one zod schema each) paired with the feature entry that handles it
 * (src/<feature>/messages.ts: who may send it, what it does, its handler). The protocol package
 * holds what a client needs (schemas, types, event maps); the entries hold what only the server
 * knows. At load, every type must have exactly one entry, using the protocol's own schema.
 */
import { type ClientMessageType, clientMessages } from "@streamit/protocol";
import { sessionFeature } from "../auth/messages.js";
import { bufferingFeature } from "../buffering/messages.js";
import { chatFeature } from "../chat/messages.js";
import { moderationFeature } from "../moderation/messages.js";
import { partyFeature } from "../party/messages.js";
import { playbackFeature } from "../playback/messages.js";
import { progressFeature } from "../progress/messages.js";
import type { Feature, MessageEntry } from "../protocol/feature.js";
import { queueFeature } from "../queue/messages.js";
import { reactionsFeature } from "../reactions/messages.js";
import { rolesFeature } from "../rooms/messages.js";
import { syncFeature } from "../sync/messages.js";

/** Every feature with client messages, by name (the name is also the docs' section). */
export const features = {
  chat: chatFeature,
  playback: playbackFeature,
  moderation: moderationFeature,
  roles: rolesFeature,
  progress: progressFeature,
  queue: queueFeature,
  reactions: reactionsFeature,
  party: partyFeature,
  buffering: bufferingFeature,
  sync: syncFeature,
  session: sessionFeature,
} as const;
type Features = typeof features;
export type FeatureName = keyof Features;

/** What each feature's handlers get as `ctx.services`, by feature name (the app provides it). */
export type FeatureServices = { [F in FeatureName]: Features[F] extends Feature<infer S, infer _Entries> ? S : never };

/** Each client message type's feature; a type declared twice, or not at all, is refused on load. */
export const featureOf: ReadonlyMap<string, FeatureName> = (() => {
  const owners = new Map<string, FeatureName>();
  for (const [name, feature] of Object.entries(features) as [FeatureName, Feature<unknown>][]) {
    for (const [type, entry] of Object.entries(feature.messages)) {
      if (owners.has(type)) throw new Error(`${type} is declared by both ${owners.get(type)} and ${name}`);
      if (!Object.hasOwn(clientMessages, type)) throw new Error(`${name} handles ${type}, which @streamit/protocol does not define`);
      if (entry.schema !== clientMessages[type as ClientMessageType])
        throw new Error(`${name}'s entry for ${type} must use the protocol's schema (clientMessages.${type})`);
      owners.set(type, name);
    }
  }
  for (const type of Object.keys(clientMessages)) if (!owners.has(type)) throw new Error(`No feature handles ${type}`);
  return owners;
})();

const entries = new Map<string, MessageEntry<unknown>>(
  Object.values(features).flatMap((feature) => Object.entries((feature as Feature<unknown>).messages)),
);

/** The registry entry of a client message type. */
export const entryOf = (type: ClientMessageType): MessageEntry<unknown> => entries.get(type)!;
