/** What a video provider offers: catalogue search and embed URLs for a playback source. */
import type { MediaType } from "../../db/schema.js";

export interface PlaybackSource {
  provider: string;
  media_type: MediaType;
  external_id: string;
  season: number | null;
  episode: number | null;
}

export interface ContentSearchResult {
  provider: string;
  stream_id: string;
  media_type: MediaType;
  title: string;
  poster: string | null;
  release_year: number | null;
}

export interface VideoProvider {
  readonly name: string;
  search(query: string, page: number): Promise<ContentSearchResult[]>;
  /** Checks a source for this provider; throws VALIDATION_FAILED when it cannot be played. */
  validateSource(source: PlaybackSource): void;
  embedUrl(source: PlaybackSource): string;
}
