/**
 * The stores' metrics: database query durations and errors (through Kysely's log hook), Redis
 * command and connection errors (node-redis's diagnostics channel), and rooms by state.
 */
import { tracingChannel } from "node:diagnostics_channel";
import type { LogEvent, RootOperationNode } from "kysely";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { ROOM_STATES } from "../../db/schema.js";
import type { DB, QueryObserver } from "../db.js";

const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** A query's statement kind: a bounded label (the SQL itself would not be). */
const OPERATIONS: Partial<Record<RootOperationNode["kind"], string>> = {
  SelectQueryNode: "select",
  InsertQueryNode: "insert",
  UpdateQueryNode: "update",
  DeleteQueryNode: "delete",
  MergeQueryNode: "merge",
  RawNode: "raw",
};

/** Kysely's log hook as query metrics; migrations and the worker's queries count too. */
export function queryMetrics(registry: Registry): QueryObserver {
  const duration = new Histogram({
    name: "streamit_db_query_duration_seconds",
    help: "Database query duration, by statement kind (select, insert, update, delete, merge, raw, other)",
    labelNames: ["operation"],
    buckets: QUERY_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: "streamit_db_query_errors_total",
    help: "Database queries that failed (a constraint, a timeout, a lost connection), by statement kind",
    labelNames: ["operation"],
    registers: [registry],
  });
  return (event: LogEvent) => {
    const operation = OPERATIONS[event.query.query.kind] ?? "other";
    duration.observe({ operation }, event.queryDurationMillis / 1000);
    if (event.level === "error") errors.inc({ operation });
  };
}

interface CommandTrace {
  command?: string;
  clientId?: string;
  error?: Error;
}

/**
 * Redis errors: `connection` counts the client's error events (lost connection, refused
 * reconnects), `command` each failed command of the clients named by `ownsClient` (the channel
 * is process-wide). NOSCRIPT is not an error here: node-redis answers it by sending the script.
 */
export function redisErrorMetrics(registry: Registry): {
  connectionError: () => void;
  watchCommands: (ownsClient: (clientId: string) => boolean) => () => void;
} {
  const commandErrors = new Counter({
    name: "streamit_redis_command_errors_total",
    help: "Redis commands that failed (timeouts included), by command",
    labelNames: ["command"],
    registers: [registry],
  });
  const connectionErrors = new Counter({
    name: "streamit_redis_connection_errors_total",
    help: "Redis connection errors (the client reconnects by itself)",
    registers: [registry],
  });
  return {
    connectionError: () => connectionErrors.inc(),
    watchCommands(ownsClient) {
      const channel = tracingChannel<CommandTrace>("node-redis:command");
      const handlers = {
        start() {},
        end() {},
        asyncStart() {},
        asyncEnd() {},
        error(trace: CommandTrace) {
          if (!trace.clientId || !ownsClient(trace.clientId)) return;
          if (trace.error?.message.startsWith("NOSCRIPT")) return;
          commandErrors.inc({ command: trace.command ?? "unknown" });
        },
      };
      channel.subscribe(handlers);
      return () => channel.unsubscribe(handlers);
    },
  };
}

/**
 * Rooms by state, from the database: the same figures on every process of a cluster (read them
 * with max(), not sum()). One GROUP BY per scrape; scrapes that overlap share it.
 */
export function registerRoomStateGauge(registry: Registry, db: DB): void {
  let reading: Promise<Map<string, number>> | undefined;
  const read = () =>
    (reading ??= db
      .selectFrom("rooms")
      .select(["state", db.fn.countAll<number>().as("n")])
      .groupBy("state")
      .execute()
      .then((rows) => new Map(rows.map((row) => [row.state, Number(row.n)])))
      .finally(() => {
        reading = undefined;
      }));
  new Gauge({
    name: "streamit_rooms",
    help: "Rooms by state, from the database (cluster-wide: the same on every process)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      // A database outage must not fail the whole scrape: the gauge keeps its last values.
      const counts = await read().catch(() => undefined);
      if (!counts) return;
      for (const state of ROOM_STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });
}
