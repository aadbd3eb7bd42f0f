/**
 * Reactions: a member sends one emoji of a fixed set and everyone in the room sees it. Ephemeral
 * by design: nothing is stored, it is not in the room log (a resumed session does not replay it)
 * and not in the timeline. The budget is per user and room, shared by their tabs and instances.
 */
import { clientMessages } from "@streamit/protocol";
import { defineFeature, entry } from "../protocol/feature.js";
import { fail, ok } from "../protocol/results.js";
import type { AttemptLimiter, LimitRule } from "../state/limiter.js";
import type { Mutes } from "../state/mutes/mutes.js";

/** Enough for a burst of applause, not for a flood. */
export const REACTION_RULE: LimitRule = { limit: 8, windowSeconds: 10 };

export interface ReactionServices {
  limiter: AttemptLimiter;
  mutes: Mutes;
}

export const reactionsFeature = defineFeature<ReactionServices>()("reactions", {
  REACTION: entry<ReactionServices>()({
    schema: clientMessages.REACTION,
    who: "member",
    summary: `Sends a reaction (an emoji of the fixed set) that everyone in the room sees as REACTION; not stored. At most ${REACTION_RULE.limit} per ${REACTION_RULE.windowSeconds} s per user and room; muted members may not react.`,
    errors: ["MUTED", "RATE_LIMITED"],
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const { user } = sender;
      // A mute silences the member's reactions too: they are shown to everyone.
      if (await services.mutes.isMuted(room.id, user.id)) return fail("MUTED", "You are muted in this room");
      const verdict = await services.limiter.hit(`reaction:${room.id}:${user.id}`, REACTION_RULE);
      if (!verdict.allowed) return fail("RATE_LIMITED", `Too many reactions: wait ${verdict.retryAfterSeconds} s.`);
      await ctx.broadcast({ type: "REACTION", user_id: user.id, user: user.display_name, emoji: message.emoji, server_time: Date.now() });
      return ok();
    },
  }),
});
