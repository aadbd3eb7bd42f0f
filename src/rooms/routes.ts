/**
 * /api/rooms/*: room lifecycle and membership over REST. The room's chat settings are in
 * src/chat/routes.ts, its media source in src/playback/routes.ts (same prefix).
 */

import { bufferingPolicyFields, mediaSourceFields, partyTime } from "@streamit/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ENTRY_MODES, PARTICIPANT_STATUSES, ROOM_STATES, SUCCESSION_POLICIES } from "../../db/schema.js";
import type { AuthUser } from "../auth/users.js";
import type { AuthGuards } from "../http/auth-guard.js";
import { currentUser } from "../http/auth-guard.js";
import { codeLookupBudget, perClientBudget } from "../http/rate-limit.js";
import { bearerAuth, errorResponses, requiredText, says, uuid } from "../http/schemas.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";
import type { RoomService } from "./service.js";

const tags = ["rooms"];
const roomAndUser = z.object({ room_id: uuid("room_id", "room_id required"), user_id: uuid("user_id", "user_id required") });

const mediaFields = mediaSourceFields;

export interface RoomRouteLimits {
  limiter: AttemptLimiter;
  /** Join requests per client address (join floods). */
  joins: LimitRule;
  /** Rooms created per client address. */
  creates: LimitRule;
  /** Unknown room codes looked up by path per client address (see codeLookupBudget). */
  codeMisses: LimitRule;
}

/** A party time given at creation (src/party/service.ts): checked before the room exists, set after. */
export interface PartyTimes {
  check(startsAt: Date): void;
  set(user: AuthUser, roomId: string, startsAt: Date | null): Promise<{ party_starts_at: string | null }>;
}

/** The room detail's fields for the approved and the waiting alike (RoomService.detail's doorOf). */
const roomDoorFields = {
  room_id: z.uuid(),
  code: z.string(),
  state: z.enum(ROOM_STATES),
  is_active: z.boolean(),
  is_private: z.boolean(),
  entry_mode: z.enum(ENTRY_MODES).nullable(),
};

/** GET /:room_code/detail/ for an approved participant: the whole room. */
const roomDetail = z
  .object({
    participant_status: z.literal("APPROVED"),
    ...roomDoorFields,
    is_chat_enabled: z.boolean(),
    chat_slow_mode_seconds: z.number().int(),
    buffering: z.object(bufferingPolicyFields).describe("Added: the buffering policy (POST /api/rooms/buffering/)"),
    host: z.string(),
    host_id: z.uuid(),
    ...mediaFields,
    created_at: z.string(),
    grace_ends_at: z.string().nullable(),
    is_host: z.boolean(),
    cohosts: z.array(z.uuid()),
    succession: z.enum(SUCCESSION_POLICIES),
    cohosts_control_playback: z.boolean(),
    cohosts_moderate: z.boolean(),
    is_cohost: z.boolean(),
    party_starts_at: z.string().nullable().describe("Added: the scheduled party's start (ISO), null when none is pending"),
    reclaim_until: z.string().nullable().describe("Set for the host who lost the room to succession, while they may reclaim it"),
    is_persistent: z.boolean().describe("Added: the room rests (RESTING) instead of expiring when grace runs out"),
    rested_at: z.string().nullable().describe("Added: since when a RESTING room rests"),
  })
  .meta({ id: "RoomDetail" });

const roomDetailPending = z
  .object({
    participant_status: z.literal("PENDING"),
    ...roomDoorFields,
    host: z.string(),
    created_at: z.string(),
    is_host: z.literal(false),
  })
  .describe("A user waiting for approval: what the waiting page shows, nothing of the room's content")
  .meta({ id: "RoomDetailPending" });

/** POST /create/: the new room (and its password, for a PASSWORD room). */
const createdRoom = z
  .object({
    room_id: z.uuid(),
    code: z.string(),
    is_private: z.boolean(),
    entry_mode: z.enum(ENTRY_MODES).nullable(),
    room_password: z.string().optional().describe("PASSWORD rooms only; rotate with /password/"),
    party_starts_at: z.string().optional().describe("Added: when `starts_at` was given"),
  })
  .meta({ id: "CreatedRoom" });

/** POST /join/: where the caller stands in the room now. */
const joinResult = z
  .object({ room_id: z.uuid(), code: z.string(), status: z.enum(PARTICIPANT_STATUSES), is_host: z.boolean() })
  .meta({ id: "JoinResult" });

/** An active room of the caller's, with the caller's place in it (GET /mine/). */
const myRoom = z
  .object({
    room_id: z.uuid(),
    code: z.string(),
    state: z.enum(ROOM_STATES),
    is_private: z.boolean(),
    entry_mode: z.enum(ENTRY_MODES).nullable(),
    status: z.enum(PARTICIPANT_STATUSES),
    is_host: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: "MyRoom" });

/** A participant, pending or approved (GET /participants/). */
const participant = z
  .object({
    id: z.uuid(),
    display_name: z.string(),
    status: z.enum(PARTICIPANT_STATUSES),
    is_host: z.boolean(),
    is_guest: z.boolean(),
    joined_at: z.string(),
  })
  .meta({ id: "Participant" });

/** An entry of the room's timeline (GET /:room_code/events/). */
const roomEvent = z
  .object({
    id: z.uuid(),
    seq: z.number().int(),
    event: z.string(),
    actor: z.object({ id: z.uuid(), display_name: z.string() }).nullable(),
    reason: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    created_at: z.string(),
  })
  .meta({ id: "RoomEvent" });

export const roomRoutes =
  (rooms: RoomService, guards: AuthGuards, limits: RoomRouteLimits, party?: PartyTimes): FastifyPluginAsyncZod =>
  async (app) => {
    const authed = { onRequest: guards.required };
    const codeLookup = codeLookupBudget(limits.limiter, limits.codeMisses);

    app.post(
      "/create/",
      {
        onRequest: [perClientBudget(limits.limiter, "rooms-create", limits.creates), guards.required],
        schema: {
          tags,
          summary: "Create a room (public, or private with APPROVAL or PASSWORD entry)",
          security: bearerAuth,
          body: z.object({
            is_private: z
              .boolean()
              .nullish()
              .transform((v) => v ?? false),
            entry_mode: z
              .enum(ENTRY_MODES, { error: says("Invalid entry_mode for private room") })
              .nullish()
              .transform((v) => v ?? null),
            starts_at: partyTime
              .nullish()
              .describe(
                "Added: a scheduled party: playback starts by itself at this time (future, at most PARTY_MAX_DAYS_AHEAD days ahead; move or clear it with /party/)",
              ),
          }),
          response: {
            201: createdRoom,
            ...errorResponses(400, 401, 403, 429),
          },
        },
      },
      async (request, reply) => {
        const user = currentUser(request);
        const startsAt = request.body.starts_at ? new Date(request.body.starts_at) : null;
        if (startsAt) {
          if (!party) throw new Error("party times are not served here");
          party.check(startsAt);
        }
        const room = await rooms.create(user, request.body);
        if (!startsAt || !party) return reply.code(201).send(room);
        const set = await party.set(user, room.room_id, startsAt);
        return reply.code(201).send({ ...room, party_starts_at: set.party_starts_at! });
      },
    );

    app.post(
      "/join/",
      {
        onRequest: [perClientBudget(limits.limiter, "rooms-join", limits.joins), guards.required],
        schema: {
          tags,
          summary: "Join a room by code (password or approval as the room requires, or an invite)",
          security: bearerAuth,
          body: z.object({
            code: requiredText("Room code required", 10),
            password: z.string().max(128).nullish(),
            invite: z
              .string()
              .min(1)
              .max(128)
              .optional()
              .describe("Added: an invite token of the room (admits to a password or approval room without the password or the approval)"),
          }),
          response: {
            200: joinResult,
            ...errorResponses(400, 401, 403, 404, 410, 429),
          },
        },
      },
      async (request) =>
        rooms.join(currentUser(request), request.body.code, request.body.password ?? undefined, request.ip, request.body.invite),
    );

    app.post(
      "/approve/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host approves a pending participant",
          security: bearerAuth,
          body: roomAndUser,
          response: { 200: z.object({ approved: z.literal(true) }), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => rooms.approve(currentUser(request), request.body.room_id, request.body.user_id),
    );

    app.post(
      "/reject/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host rejects a pending participant",
          security: bearerAuth,
          body: roomAndUser,
          response: { 200: z.object({ rejected: z.literal(true) }), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => rooms.reject(currentUser(request), request.body.room_id, request.body.user_id),
    );

    app.post(
      "/delete/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host deletes a room: state DELETED, sockets told and closed",
          security: bearerAuth,
          body: z.object({ room_id: z.uuid(says("room_id must be a valid UUID")).nullish() }),
          response: {
            200: z.object({ status: z.literal("room_deleted"), state: z.enum(ROOM_STATES) }),
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => rooms.delete(currentUser(request), request.body.room_id),
    );

    app.post(
      "/password/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host issues a new password for a PASSWORD room",
          security: bearerAuth,
          body: z.object({ room_id: uuid("room_id", "room_id required") }),
          response: {
            200: z.object({ room_id: z.uuid(), room_password: z.string() }),
            ...errorResponses(400, 401, 403, 404, 410),
          },
        },
      },
      async (request) => rooms.rotatePassword(currentUser(request), request.body.room_id),
    );

    app.get(
      "/mine/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Active rooms the caller hosts or belongs to",
          security: bearerAuth,
          response: {
            200: z.array(myRoom),
            ...errorResponses(401),
          },
        },
      },
      async (request) => rooms.mine(currentUser(request)),
    );

    app.get(
      "/participants/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Host lists every participant (pending and approved)",
          security: bearerAuth,
          querystring: z.object({ room_id: uuid("room_id", "room_id required") }),
          response: {
            200: z.array(participant),
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => rooms.participants(currentUser(request), request.query.room_id),
    );

    app.get(
      "/:room_code/events/",
      {
        ...authed,
        schema: {
          tags,
          summary:
            "The room's timeline (playback, source, moderation, lifecycle), newest first, for its host and staff; page with `before` = the previous page's `next_before`",
          security: bearerAuth,
          params: z.object({ room_code: z.string().min(1).max(32) }),
          querystring: z.object({
            before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe("only events with a smaller seq"),
            limit: z.coerce.number().int().min(1).max(100).default(50),
            type: z.string().min(1).max(40).optional().describe("only events whose name starts with this, e.g. `moderation.`"),
          }),
          response: {
            200: z.object({
              events: z.array(roomEvent),
              next_before: z.number().int().nullable().describe("pass as `before` for the next page; null on the last"),
            }),
            ...errorResponses(400, 401, 403, 404, 429),
          },
        },
      },
      async (request) => codeLookup(request, () => rooms.timeline(currentUser(request), request.params.room_code, request.query)),
    );

    app.get(
      "/:room_code/detail/",
      {
        ...authed,
        schema: {
          tags,
          summary: "Room details for an approved participant; a reduced view for one waiting for approval",
          description:
            "An approved participant gets the whole room (`participant_status: APPROVED`). A user waiting for the host's approval gets only what a waiting page shows (`participant_status: PENDING`): the host's name, entry mode, privacy and state, never the media, members or chat.",
          security: bearerAuth,
          params: z.object({ room_code: z.string().min(1).max(32) }),
          response: {
            200: z.union([roomDetail, roomDetailPending]),
            ...errorResponses(401, 403, 404, 429),
          },
        },
      },
      async (request) => codeLookup(request, () => rooms.detail(currentUser(request), request.params.room_code)),
    );
  };
