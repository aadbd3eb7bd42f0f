/** Provider lookup by name, cached catalogue search and cached, best-effort item metadata. */
import { AppError } from "../errors.js";
import type { JsonCache } from "../state/cache.js";
import type { ContentSearchResult, MediaMetadata, PlaybackSource, VideoProvider } from "./types.js";

export const SEARCH_CACHE_TTL_SECONDS = 3600;
/** An item's title hardly changes: a day. */
export const METADATA_CACHE_TTL_SECONDS = 24 * 3600;
/** A failed look-up is not retried for a minute, so a dead endpoint does not slow every source change. */
export const METADATA_FAILURE_TTL_SECONDS = 60;

/** Told of a metadata look-up that failed (it is forgiven: the source is set without it). */
export type MetadataFailure = (err: unknown, provider: string, id: string) => void;

export class ProviderRegistry {
  private readonly providers = new Map<string, VideoProvider>();

  constructor(
    providers: VideoProvider[],
    private readonly cache: JsonCache,
    private readonly onMetadataFailure: MetadataFailure = () => {},
  ) {
    for (const p of providers) this.providers.set(p.name, p);
  }

  get(name: string): VideoProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new AppError("UNKNOWN_PROVIDER", `Unknown provider: ${name}`);
    return provider;
  }

  names(): string[] {
    return [...this.providers.keys()];
  }

  /** The providers with a catalogue search. */
  searchable(): string[] {
    return [...this.providers.values()].filter((p) => p.search).map((p) => p.name);
  }

  /** Search through one provider; identical queries (case and spacing aside) share a cache entry. */
  async search(providerName: string, query: string, page: number): Promise<ContentSearchResult[]> {
    const provider = this.get(providerName);
    if (!provider.search) {
      const searchable = this.searchable();
      const message = `Provider ${provider.name} has no catalogue search (searchable: ${searchable.join(", ") || "none"})`;
      throw new AppError("VALIDATION_FAILED", message, { details: { provider: provider.name, searchable } });
    }
    const normalized = query.trim().replace(/\s+/g, " ").toLowerCase();
    const key = `search:${provider.name}:${normalized}:${page}`;
    const cached = await this.cache.get<ContentSearchResult[]>(key);
    if (cached) return cached;
    const results = await provider.search(query.trim(), page);
    await this.cache.set(key, results, SEARCH_CACHE_TTL_SECONDS);
    return results;
  }

  /**
   * What the source's provider knows of it (cached); null when the provider has no metadata or
   * the look-up failed. Never throws: metadata is best-effort, a source is set without it.
   */
  async metadata(source: PlaybackSource): Promise<MediaMetadata | null> {
    const provider = this.get(source.provider);
    if (!provider.metadata) return null;
    const key = `metadata:${provider.name}:${source.media_type}:${source.external_id}:${source.season ?? ""}:${source.episode ?? ""}`;
    try {
      const cached = await this.cache.get<{ metadata: MediaMetadata | null }>(key);
      if (cached) return cached.metadata;
    } catch (err) {
      this.onMetadataFailure(err, provider.name, source.external_id);
      return null;
    }
    let metadata: MediaMetadata | null = null;
    try {
      metadata = await provider.metadata(source);
    } catch (err) {
      this.onMetadataFailure(err, provider.name, source.external_id);
    }
    const ttl = metadata ? METADATA_CACHE_TTL_SECONDS : METADATA_FAILURE_TTL_SECONDS;
    await this.cache.set(key, { metadata }, ttl).catch((err: unknown) => this.onMetadataFailure(err, provider.name, source.external_id));
    return metadata;
  }
}
