/**
 * YouTube: the IFrame player of a video id. The host gives the 11-character id, or a watch /
 * youtu.be / embed / shorts URL, which is stored as the id alone (one item, one form).
 *
 * Metadata (title; a duration if the endpoint gives one, YouTube's own oEmbed does not) comes
 * from an oEmbed endpoint whose base URL is configuration (`YOUTUBE_METADATA_URL`; tests point
 * it at a stub on loopback). The server fetches only that base URL, with the id checked against
 * the id alphabet first, so a host cannot make it fetch anything else. The registry caches the
 * answer and forgives a failure (metadata is best-effort).
 *
 * The thumbnail is named from the id (`i.ytimg.com/vi/<id>/hqdefault.jpg`, the image oEmbed's
 * `thumbnail_url` names), so every view of the room carries it without storing or fetching it.
 */
import { z } from "zod";
import { AppError } from "../errors.js";
import type { MediaMetadata, PlaybackSource, VideoProvider } from "./types.js";

export const YOUTUBE_PROVIDER = "youtube";
const EMBED_BASE = "https://www.youtube.com/embed";
const THUMBNAIL_BASE = "https://i.ytimg.com/vi";
const FIELD = "video_id";
const ID = /^[A-Za-z0-9_-]{11}$/;
const HOSTS = new Set([
  "youtube.com",
  "www.youtube.com",
  "m.youtube.com",
  "music.youtube.com",
  "youtube-nocookie.com",
  "www.youtube-nocookie.com",
]);
/** The longest title kept (the queue's title column holds 200). */
const TITLE_MAX = 200;
/** An oEmbed answer larger than this is not one. */
const ANSWER_MAX_CHARS = 64 * 1024;
/** Controls and invisible format characters (bidi overrides): a third party's text is shown to the room. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;

const oembedAnswer = z.object({
  title: z.string().optional().catch(undefined),
  duration: z.number().positive().max(1e7).optional().catch(undefined),
});

/** The video id of an id or a YouTube URL; undefined when it is neither. */
export function youtubeVideoId(value: string): string | undefined {
  const text = value.trim();
  if (ID.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  const host = url.hostname.toLowerCase();
  let id: string | null | undefined;
  if (host === "youtu.be") id = url.pathname.split("/")[1];
  else if (HOSTS.has(host)) {
    const [, first, second] = url.pathname.split("/");
    if (first === "watch") id = url.searchParams.get("v");
    else if (first === "embed" || first === "shorts" || first === "live") id = second;
  }
  return id && ID.test(id) ? id : undefined;
}

export interface YoutubeOptions {
  /** The oEmbed endpoint (`?url=<watch URL>&format=json` is added). */
  metadataUrl: string;
  timeoutMs: number;
}

export class YoutubeProvider implements VideoProvider {
  readonly name = YOUTUBE_PROVIDER;
  /**
   * The IFrame API sets the rate (`setPlaybackRate`), so nudges work; `seekTo` lands on a
   * keyframe near the time asked unless that part is already loaded, so seeks are not precise.
   * An id may name a live stream, which oEmbed does not tell apart: on demand is assumed.
   */
  readonly capabilities = { precise_seek: false, rate_control: true, live: false };

  constructor(private readonly options: YoutubeOptions) {}

  validateSource(source: PlaybackSource): PlaybackSource {
    const id = youtubeVideoId(source.external_id);
    if (!id) {
      const message = `${FIELD}: a YouTube video id is 11 letters, digits, - or _ (or a youtube.com/watch?v= or youtu.be/ URL)`;
      throw new AppError("VALIDATION_FAILED", message, { details: [{ location: "body", path: FIELD, message }] });
    }
    if (source.media_type !== "movie") throw new AppError("VALIDATION_FAILED", "YouTube supports only the movie media type");
    return { ...source, external_id: id };
  }

  embedUrl(source: PlaybackSource): string {
    return `${EMBED_BASE}/${encodeURIComponent(source.external_id)}`;
  }

  thumbnail(source: PlaybackSource): string {
    return `${THUMBNAIL_BASE}/${encodeURIComponent(source.external_id)}/hqdefault.jpg`;
  }

  async metadata(source: PlaybackSource): Promise<MediaMetadata> {
    const url = new URL(this.options.metadataUrl);
    url.searchParams.set("url", `https://www.youtube.com/watch?v=${source.external_id}`);
    url.searchParams.set("format", "json");
    let response: Response;
    try {
      // No redirects followed: the endpoint configured is the only one fetched.
      response = await fetch(url, { redirect: "error", signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (err) {
      throw new AppError("PROVIDER_ERROR", "YouTube metadata is unreachable", { details: String((err as Error).message) });
    }
    if (!response.ok) throw new AppError("PROVIDER_ERROR", `YouTube metadata answered ${response.status}`);
    const text = await response.text();
    if (text.length > ANSWER_MAX_CHARS) throw new AppError("PROVIDER_ERROR", "YouTube metadata answer is too large");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AppError("PROVIDER_ERROR", "YouTube metadata answer is not JSON");
    }
    const parsed = oembedAnswer.safeParse(body);
    if (!parsed.success) throw new AppError("PROVIDER_ERROR", "YouTube metadata answer is not an oEmbed object");
    const title = parsed.data.title?.replace(INVISIBLE, "").trim().slice(0, TITLE_MAX) || null;
    return { title, duration: parsed.data.duration ?? null };
  }
}
