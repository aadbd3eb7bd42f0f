/** Provider lookup by name, and cached catalogue search. */
import { AppError } from "../errors.js";
import type { JsonCache } from "../state/cache.js";
import type { ContentSearchResult, VideoProvider } from "./types.js";

export const SEARCH_CACHE_TTL_SECONDS = 3600;

export class ProviderRegistry {
  private readonly providers = new Map<string, VideoProvider>();

  constructor(
    providers: VideoProvider[],
    private readonly cache: JsonCache,
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

  /** Search through one provider; identical queries (case and spacing aside) share a cache entry. */
  async search(providerName: string, query: string, page: number): Promise<ContentSearchResult[]> {
    const provider = this.get(providerName);
    const normalized = query.trim().replace(/\s+/g, " ").toLowerCase();
    const key = `search:${provider.name}:${normalized}:${page}`;
    const cached = await this.cache.get<ContentSearchResult[]>(key);
    if (cached) return cached;
    const results = await provider.search(query.trim(), page);
    await this.cache.set(key, results, SEARCH_CACHE_TTL_SECONDS);
    return results;
  }
}
