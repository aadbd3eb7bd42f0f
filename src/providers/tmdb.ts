/** A minimal TMDB client (`/search/multi`). The base URL is configurable so tests use a stub. */
import { AppError } from "../errors.js";

export interface TmdbItem {
  id: number | string;
  media_type?: string;
  title?: string;
  name?: string;
  poster_path?: string | null;
  release_date?: string;
  first_air_date?: string;
}

export class TmdbClient {
  constructor(private readonly options: { baseUrl: string; apiKey: string | undefined; timeoutMs?: number }) {}

  async searchMulti(query: string, page: number): Promise<TmdbItem[]> {
    if (!this.options.apiKey) {
      throw new AppError("PROVIDER_UNAVAILABLE", "TMDB_API_KEY is not configured");
    }
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, "")}/search/multi`);
    url.searchParams.set("api_key", this.options.apiKey);
    url.searchParams.set("query", query);
    url.searchParams.set("page", String(page));
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
    } catch (err) {
      throw new AppError("PROVIDER_ERROR", "Search provider is unreachable", { details: String((err as Error).message) });
    }
    if (!response.ok) {
      throw new AppError("PROVIDER_ERROR", `Search provider answered ${response.status}`);
    }
    const body = (await response.json().catch(() => null)) as { results?: unknown } | null;
    return Array.isArray(body?.results) ? (body.results as TmdbItem[]) : [];
  }
}
