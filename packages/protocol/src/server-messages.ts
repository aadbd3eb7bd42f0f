/**
 * Every server → client message type, one zod schema each: what both transports send (the
 * Socket.IO event name is the type), the typed `ServerMessage` the code builds, and the docs.
 */
import { z } from "zod";
import { PARTY_REASONS, REACTIONS } from "./client-messages.js";
import { bufferingPolicyFields, mediaSourceFields, queueItemFields, SUCCESSION_POLICIES } from "./enums.js";

const member = z.object({ id: z.uuid(), display_name: z.string(), is_host: z.boolean(), is_cohost: z.boolean(), online: z.boolean() });
const playbackFields = {
  is_playing: z.boolean(),
  time: z.number(),
  version: z.number().int(),
  /** Epoch milliseconds at which `time` was exact. */
  server_time: z.number(),
  rate: z.number(),
  /**
   * Added: set when the change is a scheduled start (PLAY, or SEEK while playing): the epoch ms
   * (= server_time, in the future when sent) at which every viewer starts together; until then
   * the position holds at `time`. Clients that do not say they understand it get the message
   * at that moment instead.
   */
  effective_at: z.number().optional(),
};
const chatEntry = z.object({
  id: z.uuid(),
  user: z.string(),
  user_id: z.uuid(),
  message: z.string(),
  created_at: z.string(),
});

/** What each message means is in serverMessageDocs below (the docs are generated from it). */
export const serverMessages = {
  CHAT_HISTORY: z.object({ messages: z.array(chatEntry) }),
  PLAYBACK_STATE: z.object(playbackFields),
  ROOM_PARTICIPANTS: z.object({
    participants: z.array(z.string()),
    host: z.string().nullable(),
    members: z.array(member),
    online: z.number().int(),
    /** Added: entries in the whole roster; fewer `members` means a first page or a capped roster. */
    total: z.number().int(),
  }),
  ROSTER_PAGE: z.object({ members: z.array(member), offset: z.number().int(), total: z.number().int() }),
  ROSTER_UPDATE: z.object({ members: z.array(member), removed: z.array(z.uuid()), online: z.number().int() }),
  USER_JOINED: z.object({ user: z.string(), user_id: z.uuid(), member, online: z.number().int() }),
  USER_LEFT: z.object({ user: z.string(), user_id: z.uuid(), member, online: z.number().int() }),
  HOST_DISCONNECTED: z.object({ grace_seconds: z.number().int(), grace_ends_at: z.string() }),
  HOST_RECONNECTED: z.object({}),
  CHAT_MESSAGE: chatEntry,
  CHAT_STATUS: z.object({ enabled: z.boolean(), slow_mode_seconds: z.number().int() }),
  QUEUE_UPDATED: z.object({ version: z.number().int(), items: z.array(z.object(queueItemFields)) }),
  VOTE_SKIP_UPDATED: z.object({ item_id: z.uuid(), votes: z.number().int(), needed: z.number().int() }),
  BUFFERING_POLICY: z.object(bufferingPolicyFields),
  BUFFERING_STATE: z.object({
    /** Who the room waits for (user ids); empty when it does not wait. */
    waiting: z.array(z.uuid()),
    /** Who a resume left behind, until they report ready (user ids). */
    catching_up: z.array(z.uuid()),
    /** When the wait gives up at the latest (epoch ms); null when the room does not wait. */
    resumes_by: z.number().nullable(),
  }),
  REACTION: z.object({ user_id: z.uuid(), user: z.string(), emoji: z.enum(REACTIONS), server_time: z.number() }),
  PARTY_STARTS_AT: z.object({ starts_at: z.string().nullable(), server_time: z.number(), reason: z.enum(PARTY_REASONS) }),
  SYNC_CORRECTION: z.object(playbackFields),
  TIME_SYNC: z.object({ client_ts: z.number(), server_ts: z.number() }),
  SOURCE_CHANGED: z.object(mediaSourceFields),
  USER_MUTED: z.object({
    user_id: z.uuid(),
    muted: z.boolean(),
    until: z.string().nullable().optional(),
    reason: z.string().nullable().optional(),
  }),
  COHOSTS_CHANGED: z.object({
    cohosts: z.array(z.uuid()),
    succession: z.enum(SUCCESSION_POLICIES),
    cohosts_control_playback: z.boolean(),
    cohosts_moderate: z.boolean(),
  }),
  HOST_CHANGED: z.object({
    host_id: z.uuid(),
    host: z.string(),
    previous_host_id: z.uuid(),
    reason: z.enum(["succession", "reclaimed"]),
    reclaim_until: z.string().nullable(),
  }),
  SESSION: z.object({ resume_token: z.string(), resume_window_seconds: z.number().int(), seq: z.number().int() }),
  RESUMED: z.object({ missed: z.number().int(), from_seq: z.number().int() }),
  REAUTHED: z.object({ expires_at: z.string() }),
  ROOM_DELETED: z.object({}),
  ROOM_EXPIRED: z.object({}),
  ROOM_RESTING: z.object({ rested_at: z.string() }),
  ROOM_PERSISTENCE: z.object({ is_persistent: z.boolean() }),
  JOIN_PENDING: z.object({ room_id: z.uuid(), code: z.string(), wait_seconds: z.number().int() }),
  JOIN_REQUESTED: z.object({ user_id: z.uuid(), display_name: z.string() }),
  ROOM_SYNC: z.object({
    reporting: z.number().int(),
    drift_p50: z.number(),
    drift_p95: z.number(),
    corrections: z.number().int(),
    buffering: z.number().int(),
    viewers: z.array(
      z.object({
        user_id: z.uuid(),
        display_name: z.string(),
        drift: z.number(),
        rtt_ms: z.number(),
        buffering: z.boolean(),
        behind: z.boolean(),
      }),
    ),
    server_time: z.number(),
  }),
  ERROR: z.object({ code: z.string(), message: z.string() }),
  CLOSE: z.object({ code: z.number().int(), reason: z.string() }),
} as const;

export type ServerMessageType = keyof typeof serverMessages;
/** zod types an empty object as Record<string, never>; a message with no fields is just `{type}`. */
type Fields<T> = T extends Record<string, never> ? unknown : T;
export type ServerMessage = {
  [K in ServerMessageType]: { type: K } & Fields<z.output<(typeof serverMessages)[K]>>;
}[ServerMessageType];
export type ServerMessageOf<K extends ServerMessageType> = Extract<ServerMessage, { type: K }>;

/** Each server message's feature (the docs' section) and what it means, for docs/protocol.md. */
export const serverMessageDocs: { readonly [K in ServerMessageType]: { feature: string; summary: string } } = {
  CHAT_HISTORY: { feature: "chat", summary: "On join: the room's latest chat messages, oldest first (up to 50)." },
  CHAT_MESSAGE: { feature: "chat", summary: "A chat message, to everyone in the room (the sender included)." },
  QUEUE_UPDATED: {
    feature: "queue",
    summary:
      "Added: the room's queue, whole, after every change (and to a QUEUE_GET's sender). `version` grows with every change; `items[0]` plays next.",
  },
  VOTE_SKIP_UPDATED: {
    feature: "queue",
    summary:
      "Added: the skip votes for what plays now (`item_id`, as SOURCE_CHANGED has it): `votes` of the `needed` (the room's share of the online members). Reaching it plays the queue's next item.",
  },
  BUFFERING_POLICY: {
    feature: "buffering",
    summary:
      "Added: the host changed the room's buffering policy (POST /api/rooms/buffering/): `never`, `wait_for_all` or `wait_for_share`, with `max_wait_seconds` and `ready_percent`.",
  },
  BUFFERING_STATE: {
    feature: "buffering",
    summary:
      "Added: the room's buffering wait: `waiting` (who it waits for), `catching_up` (who a resume left behind) and `resumes_by` (epoch ms, null when not waiting). When the policy pauses the room, as the wait changes, when it resumes, and when someone catching up is ready. See docs/buffering.md.",
  },
  REACTION: {
    feature: "reactions",
    summary:
      "Added: a member's reaction (one emoji of a fixed set), to everyone in the room (the sender included), at `server_time` (epoch ms). Ephemeral: not stored, not in CHAT_HISTORY, not replayed to a resumed session.",
  },
  PARTY_STARTS_AT: {
    feature: "party",
    summary:
      "Added: the room's scheduled party. `starts_at` (ISO time) is when playback starts by itself, in sync; count down against `server_time` (the server's clock, epoch ms, when sent). On join (after ROOM_PARTICIPANTS) while a party is scheduled, and to everyone when it changes. `starts_at: null` ends the countdown, `reason` saying why: `cleared` (by the host), `started` (a PLAYBACK_STATE playing follows or came just before), `no_media` (the time came with no media set: nothing started).",
  },
  CHAT_STATUS: { feature: "chat", summary: "The host toggled chat or changed slow mode (`slow_mode_seconds` added; 0 = off)." },
  PLAYBACK_STATE: {
    feature: "playback",
    summary:
      "The room's playback state: `time` was exact at `server_time` (epoch ms) and advances at `rate` while `is_playing`; `version` grows with every change. On join, and to everyone after each change. A scheduled start (added) has `server_time` a little in the future and `effective_at` equal to it: hold at `time` until then, so that every viewer starts together. Only clients that connected with `schedule=1` (raw query) or `auth.schedule: true` (Socket.IO) get it early; the others get it at `effective_at`.",
  },
  SYNC_CORRECTION: {
    feature: "sync",
    summary: "To one client whose position is off by more than the drift threshold: the playback state as of now.",
  },
  TIME_SYNC: {
    feature: "sync",
    summary: "The answer to TIME_SYNC: the client's `client_ts` and the server's clock `server_ts` (epoch ms).",
  },
  ROOM_SYNC: {
    feature: "sync",
    summary:
      "Added: the room's sync quality, to the host (and co-hosts who moderate) every few seconds; drifts in seconds, negative = behind.",
  },
  SOURCE_CHANGED: { feature: "playback", summary: "The host changed the room's media (REST `source/`); a PLAYBACK_STATE follows." },
  USER_MUTED: {
    feature: "moderation",
    summary:
      "A member was muted or unmuted; `until` (ISO time, null = until lifted) and `reason` only when the mute had a duration or a reason.",
  },
  ROOM_PARTICIPANTS: {
    feature: "room",
    summary:
      "The roster: approved participants' names (`participants`), the host's name, `members` with roles and presence, how many are online, and `total` (added: entries in the whole roster). To the joiner on join; to the others after every join and leave, paced in big rooms. A client that connected with delta presence (`presence=delta`, see ROSTER_PAGE) gets it only on join (and resume), as the roster's first page. Other clients in a room of more than `ROSTER_LEGACY_MAX` entries get a capped roster: the host, then online members, then the others, `total` counting all.",
  },
  ROSTER_PAGE: {
    feature: "room",
    summary:
      "Added, delta presence only: the next page of the joiner's roster, right after ROOM_PARTICIPANTS when its `members` are fewer than `total`; pages follow until `offset + members.length == total`. Up to `ROSTER_PAGE_SIZE` entries each.",
  },
  ROSTER_UPDATE: {
    feature: "room",
    summary:
      "Added, delta presence only: roster entries that changed without a join or leave to announce (roles, the host's presence, approvals, removals): replace these `members` by id, drop the `removed` ids; `online` is the new count.",
  },
  USER_JOINED: {
    feature: "room",
    summary:
      "A user's first connection joined (not sent to the joiner). Added: `member`, the user's roster entry, and `online`, the new count, so that a delta-presence client keeps its roster without ROOM_PARTICIPANTS.",
  },
  USER_LEFT: { feature: "room", summary: "A user's last connection left. Added: `member` (now offline) and `online`, as in USER_JOINED." },
  HOST_DISCONNECTED: {
    feature: "room",
    summary: "The host's last connection left: the room is in grace until `grace_ends_at`, then expires (or passes to a successor).",
  },
  HOST_RECONNECTED: { feature: "room", summary: "The host came back during grace (or to a resting room)." },
  HOST_CHANGED: {
    feature: "roles",
    summary:
      "Added: the room has a new host. `succession`: the host's grace ran out and the longest-present co-host (or viewer, per the room's policy) took over; the previous host may reclaim until `reclaim_until`. `reclaimed`: the previous host took the room back.",
  },
  COHOSTS_CHANGED: { feature: "roles", summary: "Added: co-hosts or what they may do changed; the whole new state." },
  JOIN_PENDING: {
    feature: "room",
    summary:
      "Added, raw path with `wait=1`: a pending user's connection waits up to `wait_seconds` for the host's answer. Approved, the normal join follows; declined, close 4003 `The host declined your request`; no answer in time, close 4003 `Waiting for host approval`. Socket.IO (`auth.wait`) has no such message: its connect waits.",
  },
  JOIN_REQUESTED: {
    feature: "room",
    summary: "Added, to the host: someone asked to join an approval room (answer over REST approve/reject).",
  },
  ROOM_DELETED: { feature: "room", summary: "The room was deleted; every connection then closes with 4005." },
  ROOM_EXPIRED: { feature: "room", summary: "The room expired; every connection then closes with 4004." },
  ROOM_PERSISTENCE: {
    feature: "room",
    summary: "Added: the host made the room persistent (it rests instead of expiring when grace runs out) or ordinary again.",
  },
  ROOM_RESTING: {
    feature: "room",
    summary:
      "Added: a persistent room's grace ran out with nobody to take it: it rests (state RESTING) since `rested_at`, playback paused, chat and queue kept, until the host (or a successor by policy) comes back (HOST_RECONNECTED or HOST_CHANGED). Sent to everyone connected when it happens and on joining a resting room.",
  },
  SESSION: {
    feature: "session",
    summary:
      "Added, to clients that asked for a resumable session (`resume=1`, or a resume token): sent after the join. `seq` is the room's log position; every logged room message carries its own `seq` to such clients. Reconnect within `resume_window_seconds` with the token and the highest `seq` seen to get what was missed instead of a full re-join.",
  },
  RESUMED: {
    feature: "session",
    summary:
      "Added: the session resumed. The `missed` logged messages follow, in order, each with its `seq`, then a fresh ROOM_PARTICIPANTS and a new SESSION (no CHAT_HISTORY, no snapshot).",
  },
  REAUTHED: { feature: "session", summary: "Added: the answer to REAUTH; the connection now lasts until `expires_at` (ISO time)." },
  ERROR: { feature: "session", summary: "A client message was refused: `code` (see the error codes) and a human-readable `message`." },
  CLOSE: { feature: "session", summary: "Socket.IO only: the close code and reason, just before the server disconnects the socket." },
};
