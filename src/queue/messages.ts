/**
 * The queue feature's client messages: reading and editing the queue, NEXT, and vote skip. The
 * queue service judges editors in the database (host, and co-hosts when the room lets them
 * control playback); votes are one per user across tabs and instances (realtime state), counted
 * for what plays now and compared with the room's share of the online members.
 */
import { clientMessages } from "@streamit/protocol";
import { defineFeature, entry, type MessageContext } from "../protocol/feature.js";
import { type CommandResult, fail, ok } from "../protocol/results.js";
import type { Presence } from "../state/presence/presence.js";
import type { SkipVotes } from "../state/skip-votes/skip-votes.js";
import type { QueueService, QueueSnapshot } from "./service.js";

export interface QueueServices {
  queue: QueueService;
  votes: SkipVotes;
  presence: Presence;
  /** How far ahead a start is scheduled in this room (ms): the next item starts together. */
  startLeadMs(roomId: string): number;
}

const on = entry<QueueServices>();
type Context = MessageContext<QueueServices>;
const EDIT_ERRORS = ["PERMISSION_DENIED", "STALE_VERSION"] as const;

/** A change went in: the ack carries the new version (everyone gets QUEUE_UPDATED through the room event). */
const changed = (queue: QueueSnapshot): CommandResult => ok({ version: queue.version });

/** A refused edit based on a stale version: the sender also gets the queue as it is. */
async function edit(ctx: Context, run: () => Promise<QueueSnapshot>): Promise<CommandResult> {
  try {
    return changed(await run());
  } catch (err) {
    if ((err as { code?: string }).code === "STALE_VERSION")
      ctx.reply({ type: "QUEUE_UPDATED", ...(await ctx.services.queue.snapshot(ctx.room.id)) });
    throw err;
  }
}

/** The votes a skip needs: the room's share of the online members, at least one. */
export function votesNeeded(online: number, thresholdPercent: number): number {
  return Math.max(1, Math.ceil((online * thresholdPercent) / 100));
}

export const queueFeature = defineFeature<QueueServices>()("queue", {
  QUEUE_GET: on({
    schema: clientMessages.QUEUE_GET,
    who: "member",
    summary: "The sender gets the room's queue as QUEUE_UPDATED (the ack carries its `version`).",
    async handle(ctx) {
      const queue = await ctx.services.queue.snapshot(ctx.room.id);
      ctx.reply({ type: "QUEUE_UPDATED", ...queue });
      return ok({ version: queue.version });
    },
  }),
  QUEUE_ADD: on({
    schema: clientMessages.QUEUE_ADD,
    who: "playback",
    summary:
      "Appends a media item (provider and id, or `direct` and a media URL; title and duration when known). At most 200 items (QUEUE_FULL). Everyone gets QUEUE_UPDATED; the ack carries the queue's `version`.",
    errors: [...EDIT_ERRORS, "QUEUE_FULL", "UNKNOWN_PROVIDER", "VALIDATION_FAILED"],
    handle(ctx, message) {
      const { expected_version, ...item } = message;
      return edit(ctx, () => ctx.services.queue.add(ctx.room.id, ctx.sender.user.id, item, expected_version));
    },
  }),
  QUEUE_REMOVE: on({
    schema: clientMessages.QUEUE_REMOVE,
    who: "playback",
    summary: "Removes a queued item. Everyone gets QUEUE_UPDATED; the ack carries the queue's `version`.",
    errors: [...EDIT_ERRORS, "NOT_FOUND"],
    handle(ctx, message) {
      return edit(ctx, () => ctx.services.queue.remove(ctx.room.id, ctx.sender.user.id, message.item_id, message.expected_version));
    },
  }),
  QUEUE_MOVE: on({
    schema: clientMessages.QUEUE_MOVE,
    who: "playback",
    summary: "Moves a queued item to position `to` (0 plays next; past the end: last). Everyone gets QUEUE_UPDATED.",
    errors: [...EDIT_ERRORS, "NOT_FOUND"],
    handle(ctx, message) {
      return edit(ctx, () =>
        ctx.services.queue.move(ctx.room.id, ctx.sender.user.id, message.item_id, message.to, message.expected_version),
      );
    },
  }),
  NEXT: on({
    schema: clientMessages.NEXT,
    who: "playback",
    summary:
      "The queue's next item plays now, from 0, play state kept (a playing room starts it at a scheduled moment). Everyone gets SOURCE_CHANGED, PLAYBACK_STATE and QUEUE_UPDATED.",
    errors: [...EDIT_ERRORS, "QUEUE_EMPTY"],
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      return edit(ctx, async () => {
        const queue = await services.queue.advance(room.id, sender.user.id, {
          reason: "next",
          expectedVersion: message.expected_version,
          leadMs: services.startLeadMs(room.id),
        });
        // A person's NEXT always advances or throws (QUEUE_EMPTY).
        return queue!;
      });
    },
  }),
  VOTE_SKIP: on({
    schema: clientMessages.VOTE_SKIP,
    who: "member",
    summary:
      "Votes to skip what plays now (`vote: false` takes it back); one vote per user across tabs. Everyone gets VOTE_SKIP_UPDATED; when the votes reach the room's share of the online members (POST /api/rooms/queue/settings/, default 50 %), the queue's next item plays. The ack carries `votes`, `needed` and `skipped`.",
    errors: ["CONFLICT"],
    async handle(ctx, message) {
      const { room, sender, services } = ctx;
      const itemId = room.media.item_id;
      if (!itemId) return fail("CONFLICT", "Nothing is playing to skip");
      const [votes, online, threshold] = await Promise.all([
        services.votes.vote(room.id, itemId, sender.user.id, message.vote),
        services.presence.onlineUsers(room.id),
        services.queue.skipThreshold(room.id),
      ]);
      const needed = votesNeeded(online.size, threshold);
      await ctx.broadcast({ type: "VOTE_SKIP_UPDATED", item_id: itemId, votes, needed });
      // Named after the item voted on: votes that pass on two instances at once move the room once.
      const skipped =
        votes >= needed &&
        (await services.queue.advance(room.id, null, { reason: "vote", fromItemId: itemId, leadMs: services.startLeadMs(room.id) })) !==
          undefined;
      return ok({ votes, needed, skipped });
    },
  }),
});
