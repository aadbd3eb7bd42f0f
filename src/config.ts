/**
 * The one place that reads the environment. Every setting is declared, defaulted and
 * validated here; a bad value stops start-up with a message that names the variable.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const flag = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");

const databaseUrl = z.string().refine((v) => /^(postgres|postgresql):\/\//.test(v) || /^(memory|pglite):\/\//.test(v), {
  message: "must be a postgres:// URL (or memory:// / pglite://<dir> for the embedded database)",
});

/** The environment's schema; each entry's `.describe()` text is its line in docs/configuration.md. */
export const envSchema = z
  .object({
    NODE_ENV: z
      .enum(["development", "production", "test"])
      .default("development")
      .describe("`production` makes `JWT_SECRET` mandatory; in production the Socket.IO Admin UI sends aggregates only"),
    PORT: z.coerce.number().int().min(0).max(65535).default(8000).describe("HTTP port (REST, raw WebSocket and Socket.IO share it)"),
    HOST: z.string().min(1).default("0.0.0.0").describe("Listen address (one explicit address)"),
    METRICS_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe(
        "Serve `/metrics` (Prometheus) on this port of `HOST` only, not on the public `PORT`; the worker serves its own there. Unset: web processes serve `/metrics` on `PORT` and the worker serves none. 0 takes a free port (tests). Set it in production: the metrics name rooms",
      ),
    DATABASE_URL: databaseUrl
      .optional()
      .describe(
        "`postgres://…` (or `postgresql://…`) for PostgreSQL; `pglite://<dir>` or `memory://` for the embedded database. Unset: PGlite under `DATA_DIR/pgdata`. With `REDIS_URL` as well, a PostgreSQL URL turns on cluster mode",
      ),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier")
      .optional()
      .describe("PostgreSQL only: the schema to use instead of the default search path (created if missing)"),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional()
      .describe(
        "`redis://…` or `rediss://…`. With a PostgreSQL `DATABASE_URL`: cluster mode (realtime state, room events, Socket.IO adapter and grace jobs in Redis). Without one, only rate limits and caches use Redis. Unset: everything in-process",
      ),
    REDIS_PREFIX: z
      .string()
      .regex(/^[\w:.-]{1,64}$/, "must be 1-64 characters of letters, digits, _ : . -")
      .default("streamit:")
      .describe("Prefix of every Redis key and channel (several deployments can share one Redis)"),
    JWT_SECRET: z
      .string()
      .min(32, "must be at least 32 characters")
      .optional()
      .describe(
        "HS256 signing key of access tokens, at least 32 characters. Unset: generated once into `DATA_DIR/jwt-secret` and reused; required when `NODE_ENV=production`. Every process of a cluster needs the same one",
      ),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt(3600).describe(
      "Access-token lifetime; an open socket is closed with 4001 `Token expired` at its token's expiry unless it sent `REAUTH`",
    ),
    REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 3600).describe("Refresh-token lifetime (30 days); sliding: each refresh renews it"),
    GRACE_PERIOD_SECONDS: positiveInt(300).describe(
      "How long a room waits for its host (after the host's last connection closed) before it expires or passes to a successor",
    ),
    /** How long a host who lost the room to succession may reclaim it. */
    HOST_RECLAIM_SECONDS: positiveInt(600).describe(
      "How long a host who lost the room to succession may take it back (`RECLAIM_HOST`, `POST /api/rooms/reclaim-host/`)",
    ),
    PERSISTENT_ROOMS_PER_HOST: positiveInt(10).describe(
      "How many rooms one host may keep persistent at once (`SET_PERSISTENT`, `POST /api/rooms/persistent/`)",
    ),
    /** How long a dropped client may resume its session and get what it missed (0 = off). */
    RESUME_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(120)
      .describe("How long after a drop a resumable client may resume its session and get what it missed (0 = off; at most 3600)"),
    /** How long a resumable client that dropped still counts as present (no leave/join flap). */
    RESUME_LINGER_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(600)
      .default(10)
      .describe(
        "How long a resumable client that dropped still counts as present, so a quick resume shows no leave and join (0 = leave at once; at most 600)",
      ),
    /**
     * How long a pending user's connection may wait for the host's answer (`wait=1`). At most 40:
     * Socket.IO closes a connection that has not joined its namespace within 45 s.
     */
    APPROVAL_WAIT_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(40)
      .default(30)
      .describe(
        "How long a pending user's connection (`wait=1`) waits for the host's answer before it is closed with 4003 (1–40: Socket.IO drops a connection that has not joined its namespace within 45 s)",
      ),
    DRIFT_THRESHOLD_SECONDS: z.coerce
      .number()
      .positive()
      .finite()
      .default(2)
      .describe("Playback drift (seconds) past which a client gets `SYNC_CORRECTION`"),
    START_LEAD_MIN_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(5000)
      .default(250)
      .describe("Scheduled starts: the least lead (ms) of a PLAY or a SEEK while playing, before viewers' round trips are known"),
    START_LEAD_MAX_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(5000)
      .default(1500)
      .describe(
        "Scheduled starts: the most lead (ms); the lead is 2 × the room's p95 round trip within [START_LEAD_MIN_MS, this]. 0 applies every change on arrival",
      ),
    PARTY_MAX_DAYS_AHEAD: z.coerce
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe("Scheduled parties: how far ahead (days) a host may set a room's start time (`starts_at`)"),
    BUFFERING_COOLDOWN_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(60)
      .describe(
        "Buffering policy: a viewer the room resumed without (still buffering at the timeout, or outside the ready share) does not pause the room again, nor is waited for, for this long (s)",
      ),
    BUFFERING_START_GRACE_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(30_000)
      .default(3000)
      .describe(
        "Buffering policy: for this long (ms) after a start takes effect a buffering report does not pause the room (players seek and buffer after every start)",
      ),
    SYNC_SUMMARY_SECONDS: z.coerce
      .number()
      .min(0.1)
      .max(3600)
      .default(5)
      .describe("How often the host gets `ROOM_SYNC` (sync telemetry) while fresh reports exist; fractions allowed (0.1–3600)"),
    PRESENCE_TTL_SECONDS: positiveInt(15).describe(
      "Cluster mode: a process without a heartbeat for this long is dead and its connections are removed (heartbeat every third of it)",
    ),
    DATA_DIR: z
      .string()
      .min(1)
      .default("./.data")
      .describe("Directory of the embedded database (`pgdata`) and of the generated `jwt-secret`"),
    CORS_ORIGINS: z
      .string()
      .default("http://localhost:3000,http://127.0.0.1:3000")
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.union([z.literal("*"), z.url()])))
      .describe(
        "Comma-separated browser origins allowed for REST (with credentials) and for socket upgrades, besides the server's own (a page whose host is the request's `Host`); `*` allows any origin. Clients that send no `Origin` (not browsers) are not affected",
      ),
    TMDB_API_KEY: z
      .string()
      .min(1)
      .optional()
      .describe("TMDB key for catalogue search. Unset: `GET /api/rooms/search/` answers 503 `PROVIDER_UNAVAILABLE`"),
    TMDB_BASE_URL: z.url().default("https://api.themoviedb.org/3").describe("TMDB API base URL (tests point it at a local stub)"),
    YOUTUBE_METADATA_URL: z
      .url()
      .default("https://www.youtube.com/oembed")
      .describe(
        "oEmbed endpoint for YouTube titles (`?url=<watch URL>&format=json` is added; tests point it at a local stub). Best-effort: a failure sets the source without a title ([media.md](media.md))",
      ),
    YOUTUBE_METADATA_TIMEOUT_MS: positiveInt(3000).describe(
      "A YouTube metadata look-up gives up after this (the source is then set without a title); it delays the host's source change by at most this",
    ),
    ADMIN_USERNAME: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Socket.IO Admin UI at `/admin/`: its user name. Set both `ADMIN_USERNAME` and `ADMIN_PASSWORD` or neither (unset: Admin UI off)",
      ),
    ADMIN_PASSWORD: z
      .string()
      .min(8, "must be at least 8 characters")
      .optional()
      .describe(
        "Socket.IO Admin UI password, at least 8 characters (kept in memory only as a bcrypt hash). Set together with `ADMIN_USERNAME`",
      ),
    DEMO_ENABLED: flag(true).describe(
      "The demo page at `/demo/`: a watch-together room in the browser (sign-in, rooms, chat, synchronized playback of a media file's URL), built from `packages/demo` ([demo.md](demo.md)). Its sockets present the server's own origin, which the room sockets admit besides `CORS_ORIGINS`. `false`: `/demo/` is 404",
    ),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info").describe("Log level of the web processes and the worker (`silent` turns logs off)"),
    LOG_FORMAT: z
      .enum(["auto", "pretty", "json"])
      .default("auto")
      .describe(
        "`json`: one JSON object a line (for log collectors); `pretty`: readable coloured lines (pino-pretty, for development); `auto`: pretty when stdout is a terminal, else JSON",
      ),
    TRUST_PROXY: flag(false).describe(
      "Trust `X-Forwarded-For` (set behind a load balancer or TLS proxy: rate limits and socket budgets then key on the client address, and `HTTP_PENDING_PER_CLIENT` is not applied)",
    ),
    BODY_LIMIT_BYTES: positiveInt(64 * 1024).describe("Largest accepted request body (larger: 413 `PAYLOAD_TOO_LARGE`)"),
    LOGIN_ATTEMPTS_PER_CLIENT: positiveInt(20).describe(
      "Failed logins per client address in a `BRUTE_FORCE_WINDOW_SECONDS` window (then 429 with `Retry-After`, escalating lockouts)",
    ),
    LOGIN_ATTEMPTS_PER_ACCOUNT: positiveInt(10).describe(
      "Failed logins per account in a `BRUTE_FORCE_WINDOW_SECONDS` window (then 429 with `Retry-After`, escalating lockouts); a successful login forgets the account's strikes",
    ),
    ROOM_PASSWORD_ATTEMPTS_PER_CLIENT: positiveInt(30).describe(
      "Wrong room passwords per client address in a `BRUTE_FORCE_WINDOW_SECONDS` window (then 429, escalating lockouts)",
    ),
    ROOM_PASSWORD_ATTEMPTS_PER_ACCOUNT: positiveInt(10).describe(
      "Wrong room passwords per account and room in a `BRUTE_FORCE_WINDOW_SECONDS` window (then 429, escalating lockouts)",
    ),
    SIGNUPS_PER_CLIENT: positiveInt(30).describe("Accounts and guests created per client address in 10 minutes (then 429)"),
    ROOM_JOINS_PER_CLIENT: positiveInt(60).describe(
      "`POST /api/rooms/join/` requests per client address per minute (join floods; then 429)",
    ),
    /**
     * Room-code lookups by path (`/rooms/<code>/detail/`, `/resume/`, `/events/`) that find no
     * room, per client address and 10 minutes. Once spent, every code lookup from that address
     * gets 429 until the window ends, real codes included (so a probe learns nothing).
     */
    ROOM_CODE_MISSES_PER_CLIENT: positiveInt(30).describe(
      "Unknown room codes looked up by path (`/rooms/<code>/detail/`, `/resume/`, `/events/`) per client address in 10 minutes; once spent, every such lookup from that address gets 429 until the window ends, real codes too (so a probe learns nothing)",
    ),
    ROOM_CREATES_PER_CLIENT: positiveInt(20).describe("Rooms created per client address in 10 minutes (then 429)"),
    BRUTE_FORCE_WINDOW_SECONDS: positiveInt(15 * 60).describe(
      "The window of the login and room-password limits, and the first lockout once a budget is spent",
    ),
    LOCKOUT_MAX_SECONDS: positiveInt(24 * 60 * 60).describe("Longest lockout: each further lockout doubles (15 min, 30, 60, …) up to this"),
    SOCKETS_PER_USER: positiveInt(20).describe("Open sockets one account may hold on one process (more: close 4029)"),
    SOCKETS_PER_CLIENT: positiveInt(200).describe(
      "Open sockets from one client address on one process (more: close 4029): raw WebSockets and engine.io connections (whatever namespace they ask for), counted from the moment they are accepted",
    ),
    SOCKET_CONNECTS_PER_MINUTE: positiveInt(300).describe(
      "Socket connection attempts per client address per minute, across the cluster (more: close 4029, before any token or database work); every raw upgrade, every engine.io connection and every further room on one Socket.IO connection counts",
    ),
    SOCKET_SEND_BUFFER_BYTES: positiveInt(4 * 1024 * 1024).describe(
      "Unsent bytes the server holds for one socket before it drops a client that stopped reading: over it for 3 s, or over 4 times it at any moment; close 4008, the client reconnects to a fresh snapshot",
    ),
    ROSTER_PAGE_SIZE: positiveInt(500).describe(
      "Entries per page of the roster a delta-presence client (`presence=delta`) gets on join: ROOM_PARTICIPANTS, then ROSTER_PAGE messages",
    ),
    ROSTER_LEGACY_MAX: positiveInt(500).describe(
      "Entries in the roster of a client without delta presence: a bigger room's ROOM_PARTICIPANTS carries the host, then online members, then the others, up to this, and `total`",
    ),
    REDIS_COMMAND_TIMEOUT_MS: positiveInt(2000).describe(
      "A request-path Redis command (chat gates, presence, limits) fails after this instead of waiting out an outage (the client gets `SERVICE_UNAVAILABLE` / 503)",
    ),
    /** Request headers (upgrades included) must be complete within this, else 408 (slowloris). */
    HTTP_HEADERS_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(500)
      .max(120_000)
      .default(10_000)
      .describe(
        "Request headers (WebSocket upgrades included) must be complete within this, else 408 and the connection closes (slowloris); 500–120000",
      ),
    /** Connections one address may hold before its first request's headers are complete. */
    HTTP_PENDING_PER_CLIENT: positiveInt(64).describe(
      "Connections one client address may hold before their first request's headers are complete (more are cut at once); not applied with `TRUST_PROXY` (every connection then comes from the proxy: bound it there)",
    ),
    /** Load shedding: HTTP requests get 503 + Retry-After while the mean event-loop delay is over this (0 = off). */
    EVENT_LOOP_DELAY_MAX_MS: nonNegativeInt(500).describe(
      "Load shedding: while the mean event-loop delay over a second is above this, HTTP requests get 503 `SERVICE_UNAVAILABLE` with `Retry-After` (0 = off); `/livez`, `/readyz`, `/health/`, `/api/health/`, `/api/v1/health/` and `/metrics` are never shed",
    ),
    /** Load shedding on heap used / resident memory, in bytes (0 = off). */
    HEAP_USED_MAX_BYTES: nonNegativeInt(0).describe("Load shedding on V8 heap used, in bytes (0 = off)"),
    RSS_MAX_BYTES: nonNegativeInt(0).describe("Load shedding on resident memory, in bytes (0 = off)"),
    /** The SIGTERM drain's bound (src/main.ts); an orchestrator's grace period must exceed it. */
    DRAIN_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(1000)
      .max(600_000)
      .default(15_000)
      .describe(
        "Web processes: a SIGTERM (or SIGINT) drain still unfinished after this exits with code 1; keep the orchestrator's grace period above it (Kubernetes: `terminationGracePeriodSeconds` greater than the `preStop` pause plus this); 1000–600000",
      ),
    DATABASE_QUERY_TIMEOUT_MS: positiveInt(5000).describe(
      "PostgreSQL only: a query with no answer after this fails and its connection is dropped (a frozen or unreachable database answers 503 in seconds); not applied to migrations",
    ),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.ADMIN_USERNAME) !== Boolean(env.ADMIN_PASSWORD)) {
      ctx.addIssue({
        code: "custom",
        path: [env.ADMIN_USERNAME ? "ADMIN_PASSWORD" : "ADMIN_USERNAME"],
        message: "ADMIN_USERNAME and ADMIN_PASSWORD must be set together",
      });
    }
    if (env.NODE_ENV === "production" && !env.JWT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "is required when NODE_ENV=production" });
    }
  });

type Env = z.output<typeof envSchema>;

export type DatabaseTarget =
  | { kind: "postgres"; url: string; schema: string | undefined }
  | { kind: "pglite"; dataDir: string | undefined };

export interface Config extends Omit<Env, "JWT_SECRET" | "DATABASE_URL"> {
  JWT_SECRET: string;
  DATABASE_URL?: string | undefined;
  database: DatabaseTarget;
  /** True when PostgreSQL and Redis are configured: shared state across processes. */
  clusterMode: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const [name = "(environment)", ...rest] = issue.path.map(String);
      const where = rest.length ? ` (entry ${Number(rest[0]) + 1})` : "";
      return `  ${name}: ${issue.message}${where}`;
    })
    .join("\n");
}

function databaseTarget(env: Env): DatabaseTarget {
  const url = env.DATABASE_URL;
  if (!url) return { kind: "pglite", dataDir: path.resolve(env.DATA_DIR, "pgdata") };
  if (url.startsWith("memory://")) return { kind: "pglite", dataDir: undefined };
  if (url.startsWith("pglite://")) return { kind: "pglite", dataDir: path.resolve(url.slice("pglite://".length)) };
  return { kind: "postgres", url, schema: env.DATABASE_SCHEMA };
}

/** Reads the secret kept under DATA_DIR, creating it once (race-safe across processes). */
function persistentJwtSecret(dataDir: string): string {
  const file = path.resolve(dataDir, "jwt-secret");
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeFileSync(file, randomBytes(48).toString("base64url"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const secret = readFileSync(file, "utf8").trim();
  if (secret.length < 32) throw new ConfigError(`Invalid configuration:\n  JWT_SECRET: ${file} holds a secret shorter than 32 characters`);
  return secret;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most twelve-factor tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${describeIssues(parsed.error)}`);
  }
  const env = parsed.data;
  const database = databaseTarget(env);
  return Object.freeze({
    ...env,
    JWT_SECRET: env.JWT_SECRET ?? persistentJwtSecret(env.DATA_DIR),
    database,
    clusterMode: database.kind === "postgres" && Boolean(env.REDIS_URL),
  });
}
