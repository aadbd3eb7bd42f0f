/** Vidking: a passive embed player; its catalogue comes from TMDB ids. */
import { AppError } from "../errors.js";
import type { TmdbClient, TmdbItem } from "./tmdb.js";
import type { ContentSearchResult, PlaybackSource, VideoProvider } from "./types.js";

const EMBED_BASE = "https://www.vidking.net/embed";
const POSTER_BASE = "https://image.tmdb.org/t/p/w500";

function releaseYear(item: TmdbItem): number | null {
  const date = item.release_date || item.first_air_date;
  const year = date ? Number.parseInt(date.slice(0, 4), 10) : Number.NaN;
  return Number.isInteger(year) && year > 0 ? year : null;
}

export function normalizeTmdbItem(item: TmdbItem): ContentSearchResult | null {
  if (item.media_type !== "movie" && item.media_type !== "tv") return null;
  return {
    provider: "vidking",
    stream_id: String(item.id),
    media_type: item.media_type,
    title: item.title || item.name || "",
    poster: item.poster_path ? `${POSTER_BASE}${item.poster_path}` : null,
    release_year: releaseYear(item),
  };
}

export class VidkingProvider implements VideoProvider {
  readonly name = "vidking";
  /**
   * A third-party iframe: the page cannot set its rate, and its seeks go through the embed's own
   * player (not known to land exactly). On demand.
   */
  readonly capabilities = { precise_seek: false, rate_control: false, live: false };

  constructor(private readonly tmdb: TmdbClient) {}

  async search(query: string, page: number): Promise<ContentSearchResult[]> {
    const items = await this.tmdb.searchMulti(query, page);
    return items.map(normalizeTmdbItem).filter((r): r is ContentSearchResult => r !== null);
  }

  validateSource(source: PlaybackSource): PlaybackSource {
    if (source.media_type !== "movie" && source.media_type !== "tv") {
      throw new AppError("VALIDATION_FAILED", "Vidking supports only movie or tv media types");
    }
    if (source.media_type === "tv" && (source.season === null || source.episode === null)) {
      throw new AppError("VALIDATION_FAILED", "TV playback requires season and episode");
    }
    return source;
  }

  embedUrl(source: PlaybackSource): string {
    const id = encodeURIComponent(source.external_id);
    return source.media_type === "movie" ? `${EMBED_BASE}/movie/${id}` : `${EMBED_BASE}/tv/${id}/${source.season}/${source.episode}`;
  }
}
