/**
 * Rooms over REST: create, join (public / password / approval), approve, reject, delete,
 * detail, participants, password rotation, timeline. Transport-free: returns plain objects and
 * throws AppError; publishes RoomEvents after each committed change. Chat settings live in
 * src/chat/settings.ts, the media source in src/playback/source.ts; both use the room lookups
 * exported at the end of this file.
 */
import type { MediaCapabilities } from "@streamit/protocol";
import { sql } from "kysely";
import type { EntryMode, ParticipantStatus, Room } from "../../db/schema.js";
import { hashPassword, verifyPassword } from "../auth/passwords.js";
import type { AuthUser } from "../auth/users.js";
import { type DB, isUniqueViolation } from "../db.js";
import { AppError, errors } from "../errors.js";
import type { RoomEventBus } from "../events/room-events.js";
import { ACTIVE_STATES, assertJoinable, isActiveState, markDeleted } from "../lifecycle/transitions.js";
import { bannedFrom, isBanned } from "../moderation/service.js";
import type { ProviderRegistry } from "../providers/registry.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";
import { listRoomEvents, recordRoomEvent, type TimelineQuery } from "../timeline/timeline.js";
import { findRoomByCode, findRoomForUser, newRoomCode, newRoomPassword } from "./codes.js";
import { spendInvite } from "./invite-tokens.js";
import type { MediaSource } from "./media.js";
import { canHost, isHost } from "./permissions.js";
import { loadCohosts } from "./roles.js";
import { rolesOf } from "./roles-model.js";

export const ROOM_PASSWORD_LIMITS = {
  perClient: { limit: 30, windowSeconds: 15 * 60, escalate: { maxLockSeconds: 24 * 60 * 60 } },
  perAccount: { limit: 10, windowSeconds: 15 * 60, escalate: { maxLockSeconds: 24 * 60 * 60 } },
} satisfies Record<string, LimitRule>;

export interface JoinResult {
  room_id: string;
  code: string;
  status: ParticipantStatus;
  is_host: boolean;
}

export class RoomService {
  constructor(
    private readonly db: DB,
    private readonly events: RoomEventBus,
    private readonly limiter: AttemptLimiter,
    private readonly providers: ProviderRegistry,
    private readonly passwordLimits: Record<keyof typeof ROOM_PASSWORD_LIMITS, LimitRule> = ROOM_PASSWORD_LIMITS,
  ) {}

  async create(user: AuthUser, input: { is_private: boolean; entry_mode: EntryMode | null }) {
    if (user.is_guest) {
      throw new AppError("AUTH_REQUIRED", "Login required to host", {
        status: 403,
        extra: { type: "ERROR", message: "Login required to host" },
      });
    }
    if (!canHost(user)) {
      throw new AppError("USERNAME_REQUIRED", "Please set a username first.", {
        extra: { message: "Please set a username first." },
      });
    }
    if (input.is_private && !input.entry_mode) {
      throw errors.validation("Invalid entry_mode for private room");
    }
    const entryMode = input.is_private ? input.entry_mode : null;
    const password = entryMode === "PASSWORD" ? newRoomPassword() : null;
    const passwordHash = password ? await hashPassword(password) : null;

    for (let attempt = 0; attempt < 8; attempt += 1) {
      try {
        const room = await this.db.transaction().execute(async (trx) => {
          const created = await trx
            .insertInto("rooms")
            .values({
              code: newRoomCode(),
              host_id: user.id,
              is_private: input.is_private,
              entry_mode: entryMode,
              entry_password_hash: passwordHash,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await trx.insertInto("room_participants").values({ room_id: created.id, user_id: user.id }).execute();
          await trx.insertInto("playback_states").values({ room_id: created.id }).execute();
          await recordRoomEvent(trx, created.id, user.id, "room.created", { is_private: input.is_private, entry_mode: entryMode });
          return created;
        });
        return {
          room_id: room.id,
          code: room.code,
          is_private: room.is_private,
          entry_mode: room.entry_mode,
          ...(password ? { room_password: password } : {}),
        };
      } catch (err) {
        // A code collision (1 in 2 billion per pair) is retried with a fresh code.
        if (!isUniqueViolation(err, "rooms_code_key")) throw err;
      }
    }
    throw new AppError("CONFLICT", "Could not allocate a room code, please retry");
  }

  /**
   * Joins by code. `invite`: a token of the room's invite links, which admits to a password or
   * approval room without the password or the approval (a public room needs none: ignored there).
   */
  async join(user: AuthUser, code: string, password: string | undefined, client: string, invite?: string): Promise<JoinResult> {
    const room = await this.findByCode(code);
    assertJoinable(room);
    if (await isBanned(this.db, room.id, user.id)) {
      throw new AppError("BANNED", "You are banned from this room");
    }
    const existing = await this.participant(room.id, user.id);
    if (invite !== undefined && room.entry_mode !== null && existing?.status !== "APPROVED") return this.joinByInvite(room, user, invite);
    if (existing) return this.joinResult(room, user, existing.status);

    let status: ParticipantStatus = "APPROVED";
    if (room.entry_mode === "PASSWORD") {
      await this.checkRoomPassword(room, user, password, client);
    } else if (room.entry_mode === "APPROVAL") {
      status = "PENDING";
    }
    const inserted = await this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("room_participants")
        .values({ room_id: room.id, user_id: user.id, status })
        .onConflict((oc) => oc.columns(["room_id", "user_id"]).doNothing())
        .returning("status")
        .executeTakeFirst();
      if (inserted) {
        await recordRoomEvent(trx, room.id, user.id, status === "PENDING" ? "participant.requested" : "participant.joined");
      }
      return inserted;
    });
    if (inserted?.status === "PENDING") {
      this.events.publish({
        type: "participant.requested",
        roomId: room.id,
        code: room.code,
        userId: user.id,
        displayName: user.display_name,
      });
    }
    // A concurrent join may have won the insert: report whatever row now exists.
    const row = await this.participant(room.id, user.id);
    return this.joinResult(room, user, row?.status ?? status);
  }

  /**
   * Admits by invite: a newcomer, or a pending request approved, in one transaction with the use
   * it spends. A join that finds the user already approved (a racing second tab) spends nothing.
   */
  private async joinByInvite(room: Room, user: AuthUser, invite: string): Promise<JoinResult> {
    const admitted = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto("room_participants")
        .values({ room_id: room.id, user_id: user.id, status: "APPROVED" })
        .onConflict((oc) =>
          oc.columns(["room_id", "user_id"]).doUpdateSet({ status: "APPROVED" }).where("room_participants.status", "=", "PENDING"),
        )
        // xmax is set on a row this statement updated, 0 on one it inserted.
        .returning(sql<boolean>`xmax <> 0`.as("was_pending"))
        .executeTakeFirst();
      if (!row) return undefined;
      const inviteId = await spendInvite(trx, room, user.id, invite);
      await recordRoomEvent(
        trx,
        room.id,
        user.id,
        row.was_pending ? "participant.approved" : "participant.joined",
        row.was_pending ? { user_id: user.id, invite_id: inviteId } : { invite_id: inviteId },
      );
      return row;
    });
    // A waiting connection of theirs goes in now, and the roster shows them.
    if (admitted?.was_pending) this.events.publish({ type: "participant.approved", roomId: room.id, code: room.code, userId: user.id });
    return this.joinResult(room, user, "APPROVED");
  }

  async approve(user: AuthUser, roomId: string, targetId: string) {
    const room = await this.requireHostOf(user, roomId, "Only host can approve");
    const updated = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable("room_participants")
        .set({ status: "APPROVED" })
        .where("room_id", "=", room.id)
        .where("user_id", "=", targetId)
        .where("status", "=", "PENDING")
        .returning("user_id")
        .executeTakeFirst();
      if (row) await recordRoomEvent(trx, room.id, user.id, "participant.approved", { user_id: targetId });
      return row;
    });
    if (!updated) throw new AppError("PARTICIPANT_NOT_FOUND", "No pending request from this user");
    this.events.publish({ type: "participant.approved", roomId: room.id, code: room.code, userId: targetId });
    return { approved: true as const };
  }

  /** The host refuses a pending request; the user may ask again later. */
  async reject(user: AuthUser, roomId: string, targetId: string) {
    const room = await this.requireHostOf(user, roomId, "Only host can reject");
    const removed = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom("room_participants")
        .where("room_id", "=", room.id)
        .where("user_id", "=", targetId)
        .where("status", "=", "PENDING")
        .returning("user_id")
        .executeTakeFirst();
      if (row) await recordRoomEvent(trx, room.id, user.id, "participant.rejected", { user_id: targetId });
      return row;
    });
    if (!removed) throw new AppError("PARTICIPANT_NOT_FOUND", "No pending request from this user");
    this.events.publish({ type: "participant.rejected", roomId: room.id, code: room.code, userId: targetId });
    return { rejected: true as const };
  }

  async delete(user: AuthUser, roomId: string | null | undefined) {
    if (!roomId) throw errors.roomNotFound();
    const room = await this.requireHostOf(user, roomId, "Only host can delete room");
    const deleted = await this.db.transaction().execute(async (trx) => {
      const row = await markDeleted(trx, room.id);
      if (row) await recordRoomEvent(trx, room.id, user.id, "room.deleted");
      return row;
    });
    if (deleted) this.events.publish({ type: "room.deleted", roomId: room.id, code: room.code });
    // Idempotent: a second delete (or deleting an expired room) reports the terminal state.
    return { status: "room_deleted" as const, state: deleted?.state ?? room.state };
  }

  async detail(user: AuthUser, code: string) {
    const found = await findRoomForUser(this.db, code, user.id);
    if (!found) throw errors.roomNotFound();
    const { room, participantStatus, banned } = found;
    if (!participantStatus) throw errors.notParticipant();
    if (banned) throw new AppError("BANNED", "You are banned from this room");
    const hostName = this.db.selectFrom("users").select("display_name").where("id", "=", room.host_id).executeTakeFirstOrThrow();
    if (participantStatus !== "APPROVED") {
      // Waiting for approval: enough for a waiting page (whose room, how it admits), nothing of its content.
      return {
        participant_status: "PENDING" as const,
        ...doorOf(room),
        host: (await hostName).display_name,
        created_at: room.created_at.toISOString(),
        is_host: false as const,
      };
    }
    const [host, cohosts] = await Promise.all([hostName, loadCohosts(this.db, room.id)]);
    const reclaimable = room.previous_host_id === user.id && room.reclaim_until !== null && room.reclaim_until.getTime() > Date.now();
    return {
      participant_status: "APPROVED" as const,
      ...doorOf(room),
      is_chat_enabled: room.is_chat_enabled,
      chat_slow_mode_seconds: room.chat_slow_mode_seconds,
      buffering: {
        policy: room.buffering_policy,
        max_wait_seconds: room.buffering_max_wait_seconds,
        ready_percent: room.buffering_ready_percent,
      },
      host: host.display_name,
      host_id: room.host_id,
      ...this.mediaSource(room),
      created_at: room.created_at.toISOString(),
      grace_ends_at: room.grace_ends_at?.toISOString() ?? null,
      is_host: isHost(user, room),
      ...rolesOf(room, cohosts),
      is_cohost: cohosts.includes(user.id),
      party_starts_at: room.party_starts_at?.toISOString() ?? null,
      reclaim_until: reclaimable ? room.reclaim_until!.toISOString() : null,
      is_persistent: room.is_persistent,
      rested_at: room.rested_at?.toISOString() ?? null,
    };
  }

  async participants(user: AuthUser, roomId: string) {
    const room = await this.requireHostOf(user, roomId, "Only host can view participants");
    const rows = await this.db
      .selectFrom("room_participants as p")
      .innerJoin("users as u", "u.id", "p.user_id")
      .select(["u.id", "u.display_name", "p.status", "u.is_guest", "p.joined_at"])
      .where("p.room_id", "=", room.id)
      .orderBy("p.joined_at")
      .orderBy("u.id")
      .execute();
    return rows.map((r) => ({
      id: r.id,
      display_name: r.display_name,
      status: r.status,
      is_host: r.id === room.host_id,
      is_guest: r.is_guest,
      joined_at: r.joined_at.toISOString(),
    }));
  }

  /** Issues a new password for a PASSWORD room (the original showed it once, forever). */
  async rotatePassword(user: AuthUser, roomId: string) {
    const room = await this.requireHostOf(user, roomId, "Only host can change the room password");
    assertJoinable(room);
    if (room.entry_mode !== "PASSWORD") throw errors.validation("Room does not use a password");
    const password = newRoomPassword();
    const hash = await hashPassword(password);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("rooms").set({ entry_password_hash: hash, updated_at: sql`now()` }).where("id", "=", room.id).execute();
      await recordRoomEvent(trx, room.id, user.id, "room.password_rotated");
    });
    return { room_id: room.id, room_password: password };
  }

  /** The room's timeline, newest first: for its host and for staff (any state, deleted included). */
  async timeline(user: AuthUser, code: string, query: TimelineQuery) {
    const room = await this.findByCode(code);
    if (!isHost(user, room) && !user.is_staff) throw errors.forbidden("Only host can view the room timeline");
    return listRoomEvents(this.db, room.id, query);
  }

  /** Rooms the caller hosts or belongs to, active ones first, newest first. */
  async mine(user: AuthUser) {
    const rows = await this.db
      .selectFrom("room_participants as p")
      .innerJoin("rooms as r", "r.id", "p.room_id")
      .select(["r.id", "r.code", "r.state", "r.host_id", "r.is_private", "r.entry_mode", "r.created_at", "p.status"])
      .where("p.user_id", "=", user.id)
      .where("r.state", "in", ACTIVE_STATES)
      // A ban keeps the participant row (for the audit trail) but ends the membership.
      .where(({ not }) => not(bannedFrom(sql.ref<string>("r.id"), user.id)))
      .orderBy("r.created_at", "desc")
      .limit(200)
      .execute();
    return rows.map((r) => ({
      room_id: r.id,
      code: r.code,
      state: r.state,
      is_private: r.is_private,
      entry_mode: r.entry_mode,
      status: r.status,
      is_host: isHost(user, r),
      created_at: r.created_at.toISOString(),
    }));
  }

  // ---- helpers -------------------------------------------------------------------------

  async findByCode(code: string): Promise<Room> {
    const room = await findRoomByCode(this.db, code);
    if (!room) throw errors.roomNotFound();
    return room;
  }

  findById(roomId: string): Promise<Room> {
    return findRoomById(this.db, roomId);
  }

  private requireHostOf(user: AuthUser, roomId: string, message: string): Promise<Room> {
    return requireHostOf(this.db, user, roomId, message);
  }

  private participant(roomId: string, userId: string) {
    return this.db
      .selectFrom("room_participants")
      .select("status")
      .where("room_id", "=", roomId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
  }

  private async checkRoomPassword(room: Room, user: AuthUser, password: string | undefined, client: string) {
    const keys = [
      [`room-password:client:${client}`, this.passwordLimits.perClient],
      [`room-password:account:${user.id}:${room.id}`, this.passwordLimits.perAccount],
    ] as const;
    for (const [key, rule] of keys) {
      const verdict = await this.limiter.peek(key, rule);
      if (!verdict.allowed) throw errors.rateLimited(verdict.retryAfterSeconds, "Too many password attempts. Please wait.");
    }
    if (!password || !(await verifyPassword(room.entry_password_hash, password))) {
      await Promise.all(keys.map(([key, rule]) => this.limiter.hit(key, rule)));
      throw new AppError("INVALID_ROOM_PASSWORD", "Invalid room password");
    }
  }

  private joinResult(room: Room, user: AuthUser, status: ParticipantStatus): JoinResult {
    return { room_id: room.id, code: room.code, status, is_host: isHost(user, room) };
  }

  private mediaSource(room: Room): MediaSource {
    return mediaSourceOf(this.providers, room);
  }
}

// ---- shared with the features that act on a room (chat settings, media source) -----------

/** The room with this id; ROOM_NOT_FOUND otherwise. */
export async function findRoomById(db: DB, roomId: string): Promise<Room> {
  const room = await db.selectFrom("rooms").selectAll().where("id", "=", roomId).executeTakeFirst();
  if (!room) throw errors.roomNotFound();
  return room;
}

/** The room with this id when `user` hosts it; FORBIDDEN (with `message`) otherwise. */
export async function requireHostOf(db: DB, user: AuthUser, roomId: string, message: string): Promise<Room> {
  const room = await findRoomById(db, roomId);
  if (!isHost(user, room)) throw errors.forbidden(message);
  return room;
}

/** The room exists and `user` is an approved, unbanned member of it; ROOM_NOT_FOUND, BANNED or NOT_A_PARTICIPANT otherwise. */
export async function requireMember(db: DB, user: AuthUser, roomId: string): Promise<void> {
  const row = await db
    .selectFrom("rooms")
    .leftJoin("room_participants as p", (join) => join.onRef("p.room_id", "=", "rooms.id").on("p.user_id", "=", user.id))
    .select(["rooms.id", "p.status"])
    .select(bannedFrom(sql.ref<string>("rooms.id"), user.id).as("banned"))
    .where("rooms.id", "=", roomId)
    .executeTakeFirst();
  if (!row) throw errors.roomNotFound();
  if (row.banned) throw new AppError("BANNED", "You are banned from this room");
  if (row.status !== "APPROVED") throw errors.notParticipant();
}

/** The room's media as clients see it, with the provider's embed URL. */
export function mediaSourceOf(providers: ProviderRegistry, room: Room): MediaSource {
  let embedUrl: string | null = null;
  let thumbnail: string | null = null;
  let capabilities: MediaCapabilities | null = null;
  if (room.video_provider && room.video_id && room.media_type) {
    const provider = providers.get(room.video_provider);
    const source = {
      provider: room.video_provider,
      media_type: room.media_type,
      external_id: room.video_id,
      season: room.season,
      episode: room.episode,
    };
    embedUrl = provider.embedUrl(source);
    thumbnail = provider.thumbnail?.(source) ?? null;
    capabilities = provider.capabilities;
  }
  return {
    video_provider: room.video_provider,
    video_id: room.video_id,
    media_type: room.media_type,
    season: room.season,
    episode: room.episode,
    embed_url: embedUrl,
    item_id: room.media_item_id,
    title: room.media_title,
    duration: room.media_duration_seconds,
    thumbnail,
    capabilities,
  };
}

/** What anyone who asked to join may know of a room: which it is, its state and how it admits. */
const doorOf = (room: Room) => ({
  room_id: room.id,
  code: room.code,
  state: room.state,
  is_active: isActiveState(room.state),
  is_private: room.is_private,
  entry_mode: room.entry_mode,
});
