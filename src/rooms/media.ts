/** A room's media as clients see it (REST detail/source and the SOURCE_CHANGED message). */
import type { MediaType } from "@streamit/protocol";

export interface MediaSource {
  video_provider: string;
  video_id: string;
  media_type: MediaType | null;
  season: number | null;
  episode: number | null;
  embed_url: string | null;
}
