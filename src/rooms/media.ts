/** A room's media as clients see it (REST detail/source and the SOURCE_CHANGED message). */
import type { MediaCapabilities, MediaType } from "@streamit/protocol";

export interface MediaSource {
  video_provider: string;
  video_id: string;
  media_type: MediaType | null;
  season: number | null;
  episode: number | null;
  embed_url: string | null;
  /** What plays now (new with every source change; skip votes count for it). */
  item_id: string | null;
  title: string | null;
  /** Seconds, when known: the room moves on to the queue's next item by itself at the end. */
  duration: number | null;
  /** An image of the item, when the provider names one (YouTube). */
  thumbnail: string | null;
  /** What the source's player can do (its provider's); null before any media. */
  capabilities: MediaCapabilities | null;
}
