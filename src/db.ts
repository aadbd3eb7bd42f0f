/**
 * Opens the durable store: PostgreSQL through `pg` (cluster mode) or PGlite in-process
 * (embedded mode). Both are driven by Kysely with the same migrations and queries.
 */
import { PGlite } from "@electric-sql/pglite";
import { Kysely, type LogEvent, PostgresDialect, sql } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import type { Database as Schema } from "../db/schema.js";
import type { DatabaseTarget } from "./config.js";
import { lockDataDir } from "./db-lock.js";

export type DB = Kysely<Schema>;

export interface Database {
  db: DB;
  kind: DatabaseTarget["kind"];
  /** The PostgreSQL schema in use when not the default search path. */
  schema?: string | undefined;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /**
   * From now on a query that gets no answer within `ms` fails (and its connection is dropped):
   * a frozen or unreachable PostgreSQL must not hold every request for as long as it is away.
   * Set after migrations, which may legitimately run long. A no-op in-process (PGlite).
   */
  setQueryTimeout(ms: number): void;
  close(): Promise<void>;
}

/** Sees every query as it finishes, with its duration and error (the app's metrics). */
export type QueryObserver = (event: LogEvent) => void;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** `pg` returns int8 and numeric as strings; PGlite returns numbers. Align on numbers. */
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * A pg client that applies the current query timeout to every query and drops its connection
 * when one times out (pg would otherwise keep the connection busy with the abandoned query and
 * hand it to the next caller).
 */
function timeoutClient(timeout: { ms: number }): typeof pg.Client {
  return class TimeoutClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      // A dropped connection also emits "error" on a checked-out client, where pg-pool listens
      // for none; its queries fail on their own, so this must not take the process down.
      this.on("error", () => {});
    }

    override query(...args: unknown[]): never {
      const [text, values] = args;
      const call =
        timeout.ms > 0 && typeof text === "string" && args.length <= 2
          ? [{ text, values: values as unknown[] | undefined, query_timeout: timeout.ms }]
          : args;
      const result = (super.query as (...a: unknown[]) => unknown).apply(this, call);
      if (result instanceof Promise) {
        result.catch((err: unknown) => {
          if (err instanceof Error && err.message === "Query read timeout") {
            (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
          }
        });
      }
      return result as never;
    }
  };
}

async function openPostgres(url: string, schema: string | undefined, onQuery: QueryObserver | undefined): Promise<Database> {
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  const timeout = { ms: 0 };
  const pool = new pg.Pool({
    Client: timeoutClient(timeout),
    connectionString: url,
    max: 10,
    types: pgTypes,
    connectionTimeoutMillis: 5000,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  // An idle client that loses its server emits here; without a listener the process would exit.
  pool.on("error", () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }), ...(onQuery ? { log: onQuery } : {}) });
  return {
    db,
    kind: "postgres",
    schema,
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    setQueryTimeout: (ms) => void (timeout.ms = ms),
    close: () => db.destroy(),
  };
}

/**
 * PGlite is single-process: a second process on the same directory would corrupt it, so a data
 * directory is locked while open (see db-lock.ts; a stale lock, even one naming a reused pid, is
 * taken over).
 */
async function openPglite(dataDir: string | undefined, onQuery: QueryObserver | undefined): Promise<Database> {
  const unlock = dataDir ? await lockDataDir(dataDir) : () => {};
  let client: PGlite;
  try {
    client = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  } catch (err) {
    unlock();
    throw err;
  }
  const db = new Kysely<Schema>({ dialect: new PGliteDialect(client), ...(onQuery ? { log: onQuery } : {}) });
  return {
    db,
    kind: "pglite",
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    setQueryTimeout: () => {},
    close: async () => {
      await db.destroy();
      if (!client.closed) await client.close();
      unlock();
    },
  };
}

export function openDatabase(target: DatabaseTarget, onQuery?: QueryObserver): Promise<Database> {
  return target.kind === "postgres" ? openPostgres(target.url, target.schema, onQuery) : openPglite(target.dataDir, onQuery);
}

/** True for a unique-constraint violation (SQLSTATE 23505), optionally of a named constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  if (e?.code !== "23505") return false;
  return constraint === undefined || e.constraint === constraint;
}
