/**
 * The progress feature's client message: the host player's events store the host's progress,
 * and the host's `ended` moves the room to its queue's next item.
 */
import { clientMessages } from "@streamit/protocol";
import { defineFeature, entry, type RoomView } from "../protocol/feature.js";
import { ok } from "../protocol/results.js";
import type { QueueService } from "../queue/service.js";
import type { ProgressService } from "./service.js";

/** timeupdate progress is written at most this often per room (ended/pause/seeked always are). */
const PROGRESS_WRITE_INTERVAL_MS = 5000;
const RELEVANT = new Set(["ended", "timeupdate", "seeked", "pause"]);

export interface ProgressServices {
  progress: ProgressService;
  queue: QueueService;
  startLeadMs(roomId: string): number;
}

/** When each live room last wrote timeupdate progress (forgotten with the room). */
const lastWrite = new WeakMap<RoomView, number>();

export const progressFeature = defineFeature<ProgressServices>()("progress", {
  PLAYER_EVENT: entry<ProgressServices>()({
    schema: clientMessages.PLAYER_EVENT,
    who: "member",
    summary:
      "The sender's player event (`ended`, `timeupdate`, `seeked`, `pause`, …). The host's store the host's watch progress for the room's media (timeupdate at most every 5 s), and the host's `ended` plays the queue's next item; anyone else's are acked `ignored`.",
    async handle({ room, sender, services }, message) {
      const { event, currentTime = 0, duration = 0, progress = 0 } = message.data;
      const media = room.media;
      // What the host watched ended: the queue's next item plays (once, whoever else says so too).
      if (sender.isHost && event === "ended" && media.item_id)
        await services.queue.advance(room.id, null, { reason: "ended", fromItemId: media.item_id, leadMs: services.startLeadMs(room.id) });
      if (!sender.isHost || !RELEVANT.has(event) || !media.video_id || !media.media_type) return ok({ ignored: true });
      const now = Date.now();
      if (event === "timeupdate" && now - (lastWrite.get(room) ?? 0) < PROGRESS_WRITE_INTERVAL_MS) return ok({ ignored: true });
      lastWrite.set(room, now);
      const ended = event === "ended";
      await services.progress.recordPlayer(
        sender.user.id,
        room.id,
        { media_id: media.video_id, media_type: media.media_type, season: media.season, episode: media.episode },
        { timestamp: ended ? duration : currentTime, duration, progress_percent: ended ? 100 : progress, completed: ended },
      );
      return ok();
    },
  }),
});
