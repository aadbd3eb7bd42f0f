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

const boolFlag = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .default("false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

const databaseUrl = z
  .string()
  .refine((v) => /^(postgres|postgresql):\/\//.test(v) || /^(memory|pglite):\/\//.test(v), {
    message: "must be a postgres:// URL (or memory:// / pglite://<dir> for the embedded database)",
  });

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    HOST: z.string().min(1).default("0.0.0.0"),
    DATABASE_URL: databaseUrl.optional(),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier")
      .optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
    REDIS_PREFIX: z
      .string()
      .regex(/^[\w:.-]{1,64}$/, "must be 1-64 characters of letters, digits, _ : . -")
      .default("streamit:"),
    JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt(3600),
    REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 3600),
    GRACE_PERIOD_SECONDS: positiveInt(300),
    /** How long a host who lost the room to succession may reclaim it. */
    HOST_RECLAIM_SECONDS: positiveInt(600),
    /** How long a dropped client may resume its session and get what it missed (0 = off). */
    RESUME_WINDOW_SECONDS: z.coerce.number().int().min(0).max(3600).default(120),
    /** How long a resumable client that dropped still counts as present (no leave/join flap). */
    RESUME_LINGER_SECONDS: z.coerce.number().int().min(0).max(600).default(10),
    /**
     * How long a pending user's connection may wait for the host's answer (`wait=1`). At most 40:
     * Socket.IO closes a connection that has not joined its namespace within 45 s.
     */
    APPROVAL_WAIT_SECONDS: z.coerce.number().int().min(1).max(40).default(30),
    DRIFT_THRESHOLD_SECONDS: z.coerce.number().positive().finite().default(2),
    SYNC_SUMMARY_SECONDS: z.coerce.number().min(0.1).max(3600).default(5),
    PRESENCE_TTL_SECONDS: positiveInt(15),
    DATA_DIR: z.string().min(1).default("./.data"),
    CORS_ORIGINS: z
      .string()
      .default("http://localhost:3000,http://127.0.0.1:3000")
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.union([z.literal("*"), z.url()]))),
    TMDB_API_KEY: z.string().min(1).optional(),
    TMDB_BASE_URL: z.url().default("https://api.themoviedb.org/3"),
    ADMIN_USERNAME: z.string().min(1).optional(),
    ADMIN_PASSWORD: z.string().min(8, "must be at least 8 characters").optional(),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
    TRUST_PROXY: boolFlag,
    BODY_LIMIT_BYTES: positiveInt(64 * 1024),
    LOGIN_ATTEMPTS_PER_CLIENT: positiveInt(20),
    LOGIN_ATTEMPTS_PER_ACCOUNT: positiveInt(10),
    ROOM_PASSWORD_ATTEMPTS_PER_CLIENT: positiveInt(30),
    ROOM_PASSWORD_ATTEMPTS_PER_ACCOUNT: positiveInt(10),
    SIGNUPS_PER_CLIENT: positiveInt(30),
    ROOM_JOINS_PER_CLIENT: positiveInt(60),
    /**
     * Room-code lookups by path (`/rooms/<code>/detail/`, `/resume/`, `/events/`) that find no
     * room, per client address and 10 minutes. Once spent, every code lookup from that address
     * gets 429 until the window ends, real codes included (so a probe learns nothing).
     */
    ROOM_CODE_MISSES_PER_CLIENT: positiveInt(30),
    ROOM_CREATES_PER_CLIENT: positiveInt(20),
    BRUTE_FORCE_WINDOW_SECONDS: positiveInt(15 * 60),
    LOCKOUT_MAX_SECONDS: positiveInt(24 * 60 * 60),
    SOCKETS_PER_USER: positiveInt(20),
    SOCKETS_PER_CLIENT: positiveInt(200),
    SOCKET_CONNECTS_PER_MINUTE: positiveInt(300),
    SOCKET_SEND_BUFFER_BYTES: positiveInt(4 * 1024 * 1024),
    REDIS_COMMAND_TIMEOUT_MS: positiveInt(2000),
    /** Request headers (upgrades included) must be complete within this, else 408 (slowloris). */
    HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
    /** Connections one address may hold before its first request's headers are complete. */
    HTTP_PENDING_PER_CLIENT: positiveInt(64),
    /** Load shedding: HTTP requests get 503 + Retry-After while the mean event-loop delay is over this (0 = off). */
    EVENT_LOOP_DELAY_MAX_MS: nonNegativeInt(500),
    /** Load shedding on heap used / resident memory, in bytes (0 = off). */
    HEAP_USED_MAX_BYTES: nonNegativeInt(0),
    RSS_MAX_BYTES: nonNegativeInt(0),
    DATABASE_QUERY_TIMEOUT_MS: positiveInt(5000),
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
