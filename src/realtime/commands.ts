/**
 * What each client message does: chat, moderation, playback, progress, sync. Pure domain rules
 * over the hub; results go back to the transport, which acks or sends ERROR.
 *
 * Who may control playback, moderate, manage co-hosts or skip slow mode is decided by the
 * services, in the database, with the command (rooms/authority.ts): never by this instance's
 * copy of the roles (`live.roles`, `member.isHost`), which another instance's change reaches only
 * when its event does. That copy is for display (roster, sync summary).
 */
import { randomUUID } from "node:crypto";
import { chatMessageId } from "../chat/service.js";
import { upsertProgress } from "../progress/service.js";
import { CHAT_MAX_LENGTH, type ClientMessage, CLOSE_CODES, parseClientMessage } from "./protocol.js";
import type { LiveRoom, RoomHub } from "./hub.js";
import { type CommandResult, fail, InvalidFrame, type Member, ok } from "./types.js";
import { currentPosition, snapshotAt } from "../playback/snapshot.js";

/** Per-connection flood control: a token bucket of messages. */
const FLOOD = { ratePerSecond: 20, burst: 40 } as const;
/** timeupdate progress is written at most this often per room (ended/pause/seeked always are). */
const PROGRESS_WRITE_INTERVAL_MS = 5000;
/** How long a command_id is remembered (a resend after this is applied again). */
const COMMAND_ID_TTL_MS = 10 * 60 * 1000;

type Of<T extends ClientMessage["type"]> = Extract<ClientMessage, { type: T }>;


export class CommandHandlers {
  private readonly buckets = new WeakMap<Member, { tokens: number; at: number; warnedAt: number }>();

  constructor(private readonly hub: RoomHub) {}

  /** Runs one frame. `null` means "drop silently" (a flood past its first warning). */
  async run(live: LiveRoom, member: Member, frame: unknown): Promise<CommandResult | null> {
    const flood = this.spend(member);
    if (flood !== undefined) return flood;
    if (frame instanceof InvalidFrame) return fail("VALIDATION_FAILED", frame.reason);
    const parsed = parseClientMessage(frame);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    const message = parsed.message;
    switch (message.type) {
      case "CHAT_MESSAGE":
        return this.chat(live, member, message);
      case "MUTE_USER":
      case "UNMUTE_USER":
      case "KICK_USER":
      case "BAN_USER":
      case "UNBAN_USER":
        return this.moderate(live, member, message);
      case "PLAY":
      case "PAUSE":
      case "SEEK":
      case "UNDO_SEEK":
        return this.playback(live, member, message);
      case "SET_COHOST": {
        // The role service checks the host under the room's row lock ("Only host can manage co-hosts").
        const roles = await this.hub.roles.setCohost(member.user, live.id, message.user_id.toLowerCase(), message.cohost);
        return ok({ cohosts: roles.cohosts });
      }
      case "RECLAIM_HOST":
        await this.hub.lifecycle.reclaim(live.id, member.user.id);
        return ok();
      case "PLAYER_EVENT":
        return this.playerEvent(live, member, message);
      case "SYNC_CHECK":
        return this.syncCheck(live, member, message);
      case "TIME_SYNC": {
        const serverTs = Date.now();
        member.connection.send({ type: "TIME_SYNC", client_ts: message.client_ts, server_ts: serverTs });
        return ok({ server_ts: serverTs });
      }
      case "SYNC_REPORT":
        return this.hub.sync.report(live, member, message);
      case "REAUTH":
        return this.hub.reauthenticate(member, message.token);
    }
  }

  private spend(member: Member): CommandResult | null | undefined {
    const now = Date.now();
    const bucket = this.buckets.get(member) ?? { tokens: FLOOD.burst, at: now, warnedAt: 0 };
    bucket.tokens = Math.min(FLOOD.burst, bucket.tokens + ((now - bucket.at) / 1000) * FLOOD.ratePerSecond);
    bucket.at = now;
    this.buckets.set(member, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    if (now - bucket.warnedAt < 1000) return null;
    bucket.warnedAt = now;
    return fail("RATE_LIMITED", "Too many messages. Slow down.");
  }

  private async chat(live: LiveRoom, member: Member, message: Of<"CHAT_MESSAGE">): Promise<CommandResult> {
    if (!live.chatEnabled) return fail("CHAT_DISABLED", "Chat is disabled in this room");
    const text = message.message.trim();
    if (text === "") return ok({ ignored: true });
    // Counted in code points, as the original (Python) did, not UTF-16 units.
    if ([...text].length > CHAT_MAX_LENGTH) return fail("MESSAGE_TOO_LONG", "Message too long.");
    // Per user: one person's tabs share their ids, nobody else's ("/" cannot occur in an id).
    const clientId = message.command_id;
    const commandId = clientId === undefined ? undefined : `chat/${member.user.id}/${clientId}`;
    const messageId = clientId === undefined ? undefined : chatMessageId(live.id, member.user.id, clientId);
    return this.once(live, commandId, () => ok({ duplicate: true }), () => this.postChat(live, member, text, messageId));
  }

  private async postChat(live: LiveRoom, member: Member, text: string, messageId?: string): Promise<CommandResult> {
    const { user } = member;
    // Slow mode spares those who may moderate, as the database has it (asked only when it is on).
    const slowModeMs = live.slowModeSeconds > 0 && !(await this.hub.moderation.mayModerate(live.id, user.id)) ? live.slowModeSeconds * 1000 : 0;
    switch (await this.hub.state.checkChat(live.id, user.id, text, slowModeMs)) {
      case "muted":
        return fail("MUTED", "You are muted in this room");
      case "slow_mode":
        return fail("SLOW_MODE", `Slow mode is on: one message every ${live.slowModeSeconds} s.`);
      case "rate_limited":
        return fail("RATE_LIMITED", "Rate limit exceeded. Please wait.");
      case "duplicate":
        return fail("DUPLICATE_MESSAGE", "Duplicate message blocked.");
    }
    let posted;
    try {
      posted = await this.hub.chat.post(live.id, user, text, messageId);
    } catch (err) {
      // Not posted: it must not count against the sender's limits (a retry would be refused).
      await this.hub.state.refundChat(live.id, user.id, text).catch(() => {});
      throw err;
    }
    // `stored`: an earlier try was committed but its answer lost, so it never went out. It goes
    // out now, as stored (the resend's text does not replace it).
    const { stored, ...entry } = posted;
    await this.hub.broadcast(live, { type: "CHAT_MESSAGE", ...entry }, undefined, "cluster", `chat:${entry.id}`);
    return ok({ id: entry.id, created_at: entry.created_at });
  }

  private async moderate(
    live: LiveRoom,
    member: Member,
    message: Of<"MUTE_USER" | "UNMUTE_USER" | "KICK_USER" | "BAN_USER" | "UNBAN_USER">,
  ): Promise<CommandResult> {
    // The moderation service judges actor and target (host, co-hosts, the room's policy, the
    // target's presence) in the transaction that writes the action, and throws the refusal.
    const target = message.user_id.toLowerCase();
    const hub = this.hub;
    const actor = member.user.id;
    if (message.type === "UNBAN_USER") {
      const unbanned = await hub.moderation.unban(live.id, target, actor);
      return unbanned ? ok() : fail("PARTICIPANT_NOT_FOUND", "User is not banned");
    }

    // An empty reason is no reason.
    const reason = message.type === "UNMUTE_USER" ? null : message.reason || null;
    const sanction = { reason, durationSeconds: "duration_seconds" in message ? message.duration_seconds : null };
    const because = (what: string) => (reason ? `${what}: ${reason}` : what);
    switch (message.type) {
      case "MUTE_USER": {
        const { expiresAt } = await hub.moderation.mute(live.id, target, actor, sanction);
        await hub.state.setMuted(live.id, target, true, expiresAt?.getTime());
        // The plain shape unless the host gave a duration or a reason (clients compare it as is).
        const details = expiresAt || reason ? { until: expiresAt?.toISOString() ?? null, reason } : {};
        await hub.broadcast(live, { type: "USER_MUTED", user_id: target, muted: true, ...details }, undefined, "cluster", randomUUID());
        return ok();
      }
      case "UNMUTE_USER":
        await hub.moderation.unmute(live.id, target, actor);
        await hub.state.setMuted(live.id, target, false);
        await hub.broadcast(live, { type: "USER_MUTED", user_id: target, muted: false }, undefined, "cluster", randomUUID());
        return ok();
      case "KICK_USER":
        await hub.moderation.kick(live.id, target, actor, reason);
        hub.events.publish({ type: "member.removed", roomId: live.id, code: live.code, userId: target, closeCode: CLOSE_CODES.KICKED, reason: because("Kicked by host") });
        return ok();
      case "BAN_USER":
        await hub.moderation.ban(live.id, target, actor, sanction);
        hub.events.publish({ type: "member.removed", roomId: live.id, code: live.code, userId: target, closeCode: CLOSE_CODES.KICKED, reason: because("Banned by host") });
        return ok();
    }
  }

  private async playback(live: LiveRoom, member: Member, message: Of<"PLAY" | "PAUSE" | "SEEK" | "UNDO_SEEK">): Promise<CommandResult> {
    // The playback service judges the sender with the command itself (PERMISSION_DENIED). Ids
    // are per user (one person's tabs share them): whoever may not drive cannot take, or be
    // answered "duplicate" for, an id someone else used.
    const clientId = message.command_id;
    return this.once(
      live,
      clientId === undefined ? undefined : `playback/${member.user.id}/${clientId}`,
      () => ok({ duplicate: true, version: live.playback.version }),
      () => this.applyPlayback(live, member, message),
    );
  }

  private async applyPlayback(live: LiveRoom, member: Member, message: Of<"PLAY" | "PAUSE" | "SEEK" | "UNDO_SEEK">): Promise<CommandResult> {
    const expectedVersion = message.type === "UNDO_SEEK" ? undefined : message.expected_version;
    const actorId = member.user.id;
    const playback =
      message.type === "UNDO_SEEK"
        ? await this.hub.playback.undoSeek(live.id, actorId)
        : await this.hub.playback.apply(live.id, message.type, message.time, { actorId, expectedVersion });
    if (!playback) {
      if (message.type === "UNDO_SEEK") return fail("NOTHING_TO_UNDO", "There is no seek to undo");
      const current = await this.hub.playback.load(live.id);
      await this.hub.applyPlayback(live, current);
      member.connection.send({ type: "PLAYBACK_STATE", ...snapshotAt(current) });
      return fail("STALE_VERSION", `The playback state is at version ${current.version}, not ${expectedVersion}`);
    }
    await this.hub.applyPlayback(live, playback);
    this.hub.events.publish({ type: "room.playback_changed", roomId: live.id, code: live.code, playback });
    return ok({ version: playback.version });
  }

  /**
   * Runs `command` once per `commandId` (none given: always). A resend of an id is answered with
   * `duplicate()` and does nothing, atomically across tabs and instances. An id whose command was
   * refused or failed is released, so a retry with it is not mistaken for a duplicate.
   */
  private async once(
    live: LiveRoom,
    commandId: string | undefined,
    duplicate: () => CommandResult,
    command: () => Promise<CommandResult>,
  ): Promise<CommandResult> {
    if (commandId === undefined) return command();
    if (!(await this.hub.state.claimCommand(live.id, commandId, COMMAND_ID_TTL_MS))) return duplicate();
    const release = () => this.hub.state.releaseCommand(live.id, commandId).catch(() => {});
    let result: CommandResult;
    try {
      result = await command();
    } catch (err) {
      await release();
      throw err;
    }
    if (!result.ok) await release();
    return result;
  }

  /** Host player events store the host's progress for the room's real media. */
  private async playerEvent(live: LiveRoom, member: Member, message: Of<"PLAYER_EVENT">): Promise<CommandResult> {
    const { event, currentTime = 0, duration = 0, progress = 0 } = message.data;
    const media = live.media;
    const relevant = event === "ended" || event === "timeupdate" || event === "seeked" || event === "pause";
    if (!member.isHost || !relevant || !media.video_id || !media.media_type) return ok({ ignored: true });
    const now = Date.now();
    if (event === "timeupdate" && now - live.lastProgressWrite < PROGRESS_WRITE_INTERVAL_MS) return ok({ ignored: true });
    live.lastProgressWrite = now;
    const ended = event === "ended";
    await upsertProgress(
      this.hub.db,
      member.user.id,
      live.id,
      { media_id: media.video_id, media_type: media.media_type, season: media.season, episode: media.episode },
      {
        timestamp: ended ? duration : currentTime,
        duration,
        progress_percent: ended ? 100 : progress,
        completed: ended,
      },
    );
    return ok();
  }

  private syncCheck(live: LiveRoom, member: Member, message: Of<"SYNC_CHECK">): CommandResult {
    const now = Date.now();
    const drift = Math.abs(currentPosition(live.playback, now) - message.client_time);
    if (drift > this.hub.options.driftThresholdSeconds) {
      member.connection.send({ type: "SYNC_CORRECTION", ...snapshotAt(live.playback, now) });
      return ok({ corrected: true, drift });
    }
    return ok({ corrected: false, drift });
  }
}
