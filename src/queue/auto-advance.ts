/**
 * The room moves on by itself when what plays has a known duration and the room clock passes
 * its end: a timer per live room on this instance, set again on every source and playback
 * change. Every instance holding the room sets one; the advance names the item it leaves, so the
 * room moves once. A little slack lets the host's own player report the end first (PLAYER_EVENT
 * `ended`, the more exact signal).
 */
import type { PublishedRoomEvent } from "../events/room-events.js";
import type { PlaybackSnapshot } from "../playback/snapshot.js";
import type { RoomHooks, RoomView } from "../protocol/feature.js";
import type { MediaSource } from "../rooms/media.js";
import type { QueueService } from "./service.js";

/** After the known end, how long the host's player has to say `ended` first. */
export const END_SLACK_MS = 1500;

interface Watched {
  media: MediaSource;
  playback: PlaybackSnapshot;
  timer?: NodeJS.Timeout;
}

/** When a state plays past `duration` (epoch ms), or undefined when it never does by itself. */
export function endsAt(playback: PlaybackSnapshot, duration: number | null): number | undefined {
  if (!playback.is_playing || duration === null || playback.rate <= 0) return undefined;
  return playback.server_time + (Math.max(0, duration - playback.time) / playback.rate) * 1000;
}

export class AutoAdvance implements RoomHooks {
  private readonly rooms = new Map<string, Watched>();

  constructor(
    private readonly queue: QueueService,
    private readonly startLeadMs: (roomId: string) => number,
    private readonly onError: (err: unknown, roomId: string) => void,
  ) {}

  roomOpened(room: RoomView): void {
    this.watch(room.id, { media: room.media, playback: room.playback });
  }

  roomClosed(room: RoomView): void {
    clearTimeout(this.rooms.get(room.id)?.timer);
    this.rooms.delete(room.id);
  }

  roomEvent(event: PublishedRoomEvent): void {
    const watched = event.roomId === undefined ? undefined : this.rooms.get(event.roomId);
    if (!watched || event.roomId === undefined) return;
    if (event.type === "room.source_changed") this.watch(event.roomId, { media: event.source, playback: event.playback });
    else if (event.type === "room.playback_changed" && event.playback.version > watched.playback.version)
      this.watch(event.roomId, { media: watched.media, playback: event.playback });
    else if (event.type === "room.deleted" || event.type === "room.expired") this.forget(event.roomId);
  }

  close(): void {
    for (const roomId of [...this.rooms.keys()]) this.forget(roomId);
  }

  private forget(roomId: string): void {
    clearTimeout(this.rooms.get(roomId)?.timer);
    this.rooms.delete(roomId);
  }

  private watch(roomId: string, state: Watched): void {
    clearTimeout(this.rooms.get(roomId)?.timer);
    const watched: Watched = { media: state.media, playback: state.playback };
    this.rooms.set(roomId, watched);
    const end = endsAt(state.playback, state.media.duration);
    const itemId = state.media.item_id;
    if (end === undefined || !itemId) return;
    watched.timer = setTimeout(
      () => {
        this.queue
          .advance(roomId, null, { reason: "duration", fromItemId: itemId, leadMs: this.startLeadMs(roomId) })
          .catch((err: unknown) => this.onError(err, roomId));
      },
      Math.max(0, end - Date.now()) + END_SLACK_MS,
    );
    watched.timer.unref();
  }
}
