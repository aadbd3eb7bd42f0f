/**
 * What the OpenAPI document does not say about a route: who may call it beyond "has a token",
 * and behaviour worth knowing. Keyed by "METHOD path" as the document spells it; test/docs.test.ts
 * fails when a key names no route (a route was renamed or removed).
 */
export interface RouteNote {
  /** Who may call it, when more than "anyone" (no auth) or "any signed-in user" (bearer). */
  who?: string;
  notes?: string;
}

export const ROUTE_NOTES: Readonly<Record<string, RouteNote>> = {
  "GET /livez": {
    notes:
      "Kubernetes `livenessProbe`: no dependency is asked, so an outage of PostgreSQL or Redis never restarts the process. `Cache-Control: no-store`; never shed, never rate limited.",
  },
  "GET /readyz": {
    notes:
      "Kubernetes `readinessProbe` and the load balancer's check: 503 `error` with a `reason` while PostgreSQL or Redis (when configured) does not answer within 2 s; 503 `draining` from the moment a SIGTERM drain begins, so traffic moves elsewhere before the sockets close. `migrations` is always `ok` (the process migrates before it listens). `Cache-Control: no-store`; never shed, never rate limited.",
  },
  "GET /health/": {
    notes:
      "For load-balancer checks. 503 `degraded` while PostgreSQL or Redis does not answer within 2 s (the process reconnects by itself); `redis` is `disabled` without `REDIS_URL`. `load.under_pressure`: HTTP requests are being shed (503). Never shed itself.",
  },
  "GET /api/health/": { notes: "Liveness only (no dependency is asked). Never shed." },
  "POST /api/auth/logout/": {
    who: "anyone (the token is optional)",
    notes:
      "Revokes the presented access token's session and/or the session of `refresh_token`; the session's open sockets close with 4001 on every instance. Always `{\"success\": true}`.",
  },
  "POST /api/auth/guest-login/": { notes: 'The login body plus `access` (the access token again) and `role: "guest"`.' },
  "POST /api/auth/refresh/": {
    notes:
      "The refresh token is single use: the answer carries a new one. Presenting a spent refresh token again revokes the whole session (its sockets close with 4001).",
  },
  "POST /api/rooms/join/": {
    notes:
      "`status` is `PENDING` in an approval room until the host approves (the host's sockets get `JOIN_REQUESTED`); a pending user's socket may wait for the answer (`wait=1`, see realtime.md). Then connect a socket to the room to watch.",
  },
  "POST /api/rooms/approve/": { who: "the host" },
  "POST /api/rooms/reject/": { who: "the host" },
  "POST /api/rooms/delete/": { who: "the host", notes: "The room becomes DELETED; its sockets get `ROOM_DELETED`, then close with 4005." },
  "POST /api/rooms/chat/": { who: "the host", notes: "The room gets `CHAT_STATUS {enabled, slow_mode_seconds}`." },
  "POST /api/rooms/slow-mode/": {
    who: "the host",
    notes:
      "Viewers may then send one chat message per `seconds` (else `ERROR SLOW_MODE`); whoever may moderate (the host, and co-hosts where the room lets them moderate) is exempt. The room gets `CHAT_STATUS {enabled, slow_mode_seconds}`.",
  },
  "POST /api/rooms/password/": { who: "the host", notes: "PASSWORD rooms only: the old password stops working." },
  "POST /api/rooms/source/": {
    who: "the host",
    notes:
      "Playback resets; the room gets `SOURCE_CHANGED`. Providers: `vidking` (`video_id` a TMDB id; `movie`, or `tv` with `season` and `episode`) and `direct`: `video_id` is the absolute URL of a media file the browser plays itself, and `embed_url` is that URL (put it in a `<video src>`). A direct URL is `https:` or `http:` (browsers block `http:` media on an `https:` page as mixed content), at most 2,048 characters by the provider's rule but 255 for now (the `video_id` bound), without credentials (`user:pass@`), whitespace, control or invisible characters, or unencoded `` \" < > \\ ^ ` { | } ``; other schemes (`javascript:`, `data:`, `file:`, …) are refused, all with 400 `VALIDATION_FAILED`. Direct media is a `movie` (`tv` is refused; `season`/`episode` are dropped). The server never fetches a direct URL. `youtube`: `video_id` is an 11-character id or a `youtube.com/watch?v=` / `youtu.be/` URL (stored as the id); its title comes from `YOUTUBE_METADATA_URL` (best-effort: a failure sets the source with `title` null). The answer and `SOURCE_CHANGED` carry the source's `capabilities` and `thumbnail` ([media.md](media.md)).",
  },
  "GET /api/rooms/participants/": { who: "the host" },
  "GET /api/rooms/{room_code}/detail/": {
    who: "an approved participant",
    notes:
      "`reclaim_until` is set for the host who lost the room to succession, while they may reclaim it. Unknown codes count against `ROOM_CODE_MISSES_PER_CLIENT`.",
  },
  "GET /api/rooms/{room_code}/events/": {
    who: "the host, staff",
    notes:
      "`type` keeps events whose name starts with it (`moderation.`, `playback.`, `room.`, `participant.`, `host.`, `staff.`). Playback and source rows carry `data {from, to, version}`, mutes and bans `{user_id, duration_seconds, expires_at}`, and the moderator's `reason`. The log is append-only (the database refuses UPDATE). Unknown codes count against `ROOM_CODE_MISSES_PER_CLIENT`.",
  },
  "POST /api/rooms/cohosts/": {
    who: "the host",
    notes: "Guests cannot be co-hosts. The room gets `COHOSTS_CHANGED` and a roster with `is_cohost`.",
  },
  "POST /api/rooms/host-policy/": {
    who: "the host",
    notes:
      "Co-hosts may drive playback (`cohosts_control_playback`) and moderate viewers (`cohosts_moderate`; never the host or each other) when the room allows it; both are on by default, `succession` is `EXPIRE` by default. A change reaches the room as `COHOSTS_CHANGED`.",
  },
  "POST /api/rooms/reclaim-host/": {
    who: "the host who lost the room to succession",
    notes:
      "Only while connected to the room and within `HOST_RECLAIM_SECONDS`: otherwise 403, or 409 `CONFLICT` when not connected (409 is missing from the route's documented statuses).",
  },
  "POST /api/rooms/progress/save/": { who: "an approved participant" },
  "GET /api/rooms/progress/get/": { who: "an approved participant", notes: 'The caller\'s own progress row, or `{"progress": null}`.' },
  "GET /api/rooms/{room_code}/resume/": { notes: "Unknown codes count against `ROOM_CODE_MISSES_PER_CLIENT`." },
  "GET /api/rooms/public/": { notes: "At most 120 requests per client address per minute." },
  "GET /api/rooms/search/": {
    notes:
      "At most 30 requests per client address per minute. Providers that search: `vidking` (TMDB; without `TMDB_API_KEY`: 503 `PROVIDER_UNAVAILABLE`). `direct` has no catalogue: 400 `VALIDATION_FAILED`, with `details {provider, searchable}`.",
  },
  "GET /api/admin/rooms/": { who: "staff (`npm run createsuperuser`)" },
  "GET /api/admin/users/": { who: "staff (`npm run createsuperuser`)" },
  "POST /api/admin/rooms/expire/": { who: "staff (`npm run createsuperuser`)" },
  "POST /api/admin/rooms/delete/": { who: "staff (`npm run createsuperuser`)" },
};
