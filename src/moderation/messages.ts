/**
 * The moderation feature's client messages. The moderation service judges actor and target
 * (host, co-hosts, the room's policy, the target's presence) in the transaction that writes the
 * action, and throws the refusal (PERMISSION_DENIED, PARTICIPANT_NOT_FOUND, …).
 */

import { randomUUID } from "node:crypto";
import { CLOSE_CODES, clientMessages } from "@streamit/protocol";
import { defineFeature, entry } from "../protocol/feature.js";
import { fail, ok } from "../protocol/results.js";
import type { Mutes } from "../state/mutes/mutes.js";
import type { ModerationService } from "./service.js";

export interface ModerationServices {
  moderation: ModerationService;
  /** The realtime copy of the mutes the chat gate reads (the database is the record). */
  mutes: Mutes;
}

const on = entry<ModerationServices>();
/** An empty reason is no reason. */
const reasonOf = (given: string | null | undefined) => given || null;
const because = (what: string, why: string | null) => (why ? `${what}: ${why}` : what);
const MODERATION_ERRORS = ["PERMISSION_DENIED", "PARTICIPANT_NOT_FOUND"] as const;

export const moderationFeature = defineFeature<ModerationServices>()("moderation", {
  MUTE_USER: on({
    schema: clientMessages.MUTE_USER,
    who: "moderator",
    summary:
      "Mutes a member (optionally for `duration_seconds`, with a `reason`): everyone gets USER_MUTED; the muted user's chat is refused with MUTED.",
    errors: MODERATION_ERRORS,
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const target = message.user_id.toLowerCase();
      const why = reasonOf(message.reason);
      const { expiresAt } = await services.moderation.mute(room.id, target, sender.user.id, {
        reason: why,
        durationSeconds: message.duration_seconds ?? null,
      });
      await services.mutes.mute(room.id, target, expiresAt?.getTime());
      // The plain shape unless the host gave a duration or a reason (clients compare it as is).
      const details = expiresAt || why ? { until: expiresAt?.toISOString() ?? null, reason: why } : {};
      await ctx.broadcast({ type: "USER_MUTED", user_id: target, muted: true, ...details }, { logKey: randomUUID() });
      return ok();
    },
  }),
  UNMUTE_USER: on({
    schema: clientMessages.UNMUTE_USER,
    who: "moderator",
    summary: "Lifts a member's mute: everyone gets USER_MUTED with `muted: false`.",
    errors: MODERATION_ERRORS,
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const target = message.user_id.toLowerCase();
      await services.moderation.unmute(room.id, target, sender.user.id);
      await services.mutes.unmute(room.id, target);
      await ctx.broadcast({ type: "USER_MUTED", user_id: target, muted: false }, { logKey: randomUUID() });
      return ok();
    },
  }),
  KICK_USER: on({
    schema: clientMessages.KICK_USER,
    who: "moderator",
    summary: "Closes the member's connections (close 4011 `Kicked by host[: reason]`); they may join again.",
    errors: MODERATION_ERRORS,
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const target = message.user_id.toLowerCase();
      const why = reasonOf(message.reason);
      await services.moderation.kick(room.id, target, sender.user.id, why);
      await ctx.publish({ type: "member.removed", userId: target, closeCode: CLOSE_CODES.KICKED, reason: because("Kicked by host", why) });
      return ok();
    },
  }),
  BAN_USER: on({
    schema: clientMessages.BAN_USER,
    who: "moderator",
    summary:
      "Bans a member (optionally for `duration_seconds`): their connections close (4011 `Banned by host[: reason]`) and they cannot join until unbanned.",
    errors: MODERATION_ERRORS,
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const target = message.user_id.toLowerCase();
      const why = reasonOf(message.reason);
      await services.moderation.ban(room.id, target, sender.user.id, { reason: why, durationSeconds: message.duration_seconds ?? null });
      await ctx.publish({ type: "member.removed", userId: target, closeCode: CLOSE_CODES.KICKED, reason: because("Banned by host", why) });
      return ok();
    },
  }),
  UNBAN_USER: on({
    schema: clientMessages.UNBAN_USER,
    who: "moderator",
    summary: "Lifts a ban.",
    errors: MODERATION_ERRORS,
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const unbanned = await services.moderation.unban(room.id, message.user_id.toLowerCase(), sender.user.id);
      return unbanned ? ok() : fail("PARTICIPANT_NOT_FOUND", "User is not banned");
    },
  }),
});
