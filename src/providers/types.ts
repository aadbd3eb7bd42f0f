/**
 * What a video provider offers: catalogue search, embed URLs for a playback source, what its
 * player can do (capabilities) and, for some, what it knows of an item (metadata).
 */
import type { MediaCapabilities } from "@streamit/protocol";
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

/**
 * What a provider's metadata endpoint says of an item; null where it does not. (A thumbnail is
 * not here: a provider that has one names it from the source alone, see `thumbnail`.)
 */
export interface MediaMetadata {
  title: string | null;
  /** Seconds. */
  duration: number | null;
}

export interface VideoProvider {
  readonly name: string;
  /** What this provider's player can do: the same for every item of it. */
  readonly capabilities: MediaCapabilities;
  /** Catalogue search; absent for a provider without a catalogue (e.g. `direct`). */
  search?(query: string, page: number): Promise<ContentSearchResult[]>;
  /**
   * Checks a source for this provider and returns it in its stored form (e.g. a YouTube URL
   * becomes the video id); throws VALIDATION_FAILED when it cannot be played.
   */
  validateSource(source: PlaybackSource): PlaybackSource;
  embedUrl(source: PlaybackSource): string;
  /** The item's image when the provider can name it from the source alone (no fetch). */
  thumbnail?(source: PlaybackSource): string | null;
  /** What the provider's metadata endpoint says of an item; throws when it cannot tell (the registry caches and forgives). */
  metadata?(source: PlaybackSource): Promise<MediaMetadata>;
}
