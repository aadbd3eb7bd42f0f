/**
 * Direct: a media file the browser plays itself (`<video src>`), no third-party embed. The
 * source's `video_id` is the file's absolute http(s) URL, and the room's embed URL is that URL.
 *
 * The server never fetches, resolves or probes the URL (no HEAD, no DNS lookup, no redirects
 * followed): it is only checked as text and handed to the clients, whose browsers load it. So
 * there is no SSRF surface here; keep it that way (anything that fetches belongs in the client).
 *
 * There is no catalogue: `search` is absent, and the registry refuses to search this provider.
 */
import { z } from "zod";
import { AppError } from "../errors.js";
import type { PlaybackSource, VideoProvider } from "./types.js";

export const DIRECT_PROVIDER = "direct";
export const DIRECT_URL_MAX_LENGTH = 2048;

const FIELD = "video_id";
/** Controls (C0, DEL, C1), invisible format characters (zero-width, bidi overrides) and every kind of whitespace. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\s]/u;
/** Characters a URL never carries unencoded (RFC 3986), and that break naive HTML attribute quoting. */
const UNSAFE = /["<>\\^`{|}]/;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const ALLOWED_SCHEMES = new Set(["https", "http"]);

const schemeOf = (value: string): string | undefined => SCHEME.exec(value)?.[1]?.toLowerCase();
/** The authority as written (between `//` and the first `/`, `?` or `#`). */
const authorityOf = (value: string): string => value.replace(/^[a-z]+:\/\//i, "").split(/[/?#]/, 1)[0] ?? "";

function parses(value: string): boolean {
  try {
    const url = new URL(value);
    return url.hostname !== "" && ALLOWED_SCHEMES.has(url.protocol.slice(0, -1));
  } catch {
    return false;
  }
}

/** The rules a direct media URL follows, in order; the first one broken is the message. */
export const directMediaUrl = z
  .string()
  .max(DIRECT_URL_MAX_LENGTH, { error: `${FIELD}: a direct media URL is at most ${DIRECT_URL_MAX_LENGTH} characters`, abort: true })
  .refine((v) => !INVISIBLE.test(v), { error: `${FIELD}: a direct media URL cannot contain whitespace or control characters`, abort: true })
  .refine((v) => !UNSAFE.test(v), {
    error: `${FIELD}: a direct media URL cannot contain " < > \\ ^ \` { | } (percent-encode them)`,
    abort: true,
  })
  .refine((v) => schemeOf(v) !== undefined, { error: `${FIELD}: a direct media URL must be absolute (https://host/path)`, abort: true })
  .refine((v) => ALLOWED_SCHEMES.has(schemeOf(v)!), {
    error: (issue) => `${FIELD}: a direct media URL must use https: or http:, not ${schemeOf(String(issue.input))}:`,
    abort: true,
  })
  .refine((v) => /^https?:\/\/[^/?#]/i.test(v), { error: `${FIELD}: a direct media URL must be absolute (https://host/path)`, abort: true })
  .refine((v) => !authorityOf(v).includes("@"), {
    error: `${FIELD}: a direct media URL cannot carry credentials (user:pass@)`,
    abort: true,
  })
  .refine(parses, { error: `${FIELD}: not a valid URL`, abort: true });

export class DirectProvider implements VideoProvider {
  readonly name = DIRECT_PROVIDER;
  /** The page's own `<video>`: seeks land where asked and its playbackRate is the page's. */
  readonly capabilities = { precise_seek: true, rate_control: true, live: false };

  validateSource(source: PlaybackSource): PlaybackSource {
    const checked = directMediaUrl.safeParse(source.external_id);
    if (!checked.success) {
      const message = checked.error.issues[0]?.message ?? `${FIELD}: not a valid direct media URL`;
      throw new AppError("VALIDATION_FAILED", message, { details: [{ location: "body", path: FIELD, message }] });
    }
    // A file has no seasons: the room stores it as a movie (season and episode are dropped).
    if (source.media_type !== "movie") {
      throw new AppError("VALIDATION_FAILED", "Direct media supports only the movie media type");
    }
    return source;
  }

  /** The URL itself, as validated and stored: clients put it in a `<video src>`. */
  embedUrl(source: PlaybackSource): string {
    return source.external_id;
  }
}
