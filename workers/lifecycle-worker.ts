/**
 * `npm run worker`: the lifecycle worker of cluster mode. Until the BullMQ scheduler lands it
 * sweeps PostgreSQL for rooms whose grace has passed; the transition is a conditional UPDATE,
 * so several workers (and web processes) can run it at once and each room expires exactly once.
 */
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";
import { expireDueRooms } from "../src/lifecycle/transitions.js";

const SWEEP_INTERVAL_MS = 5_000;

const config = loadConfig();
if (config.database.kind !== "postgres") {
  console.error("The worker serves cluster mode (DATABASE_URL=postgres://...). Embedded mode runs in a single process and needs no worker.");
  process.exit(78);
}
const database = await openDatabase(config.database);
let timer: NodeJS.Timeout | undefined;
let running: Promise<void> = Promise.resolve();

async function sweep(): Promise<void> {
  try {
    const expired = await expireDueRooms(database.db);
    if (expired.length > 0) console.log(JSON.stringify({ msg: "expired rooms", rooms: expired.map((r) => r.code) }));
  } catch (err) {
    console.error(JSON.stringify({ msg: "sweep failed", err: String(err) }));
  }
  timer = setTimeout(() => (running = sweep()), SWEEP_INTERVAL_MS);
}

async function shutdown(signal: string): Promise<void> {
  console.log(JSON.stringify({ msg: "worker stopping", signal }));
  clearTimeout(timer);
  await running;
  await database.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
console.log(JSON.stringify({ msg: "lifecycle worker started", intervalMs: SWEEP_INTERVAL_MS }));
running = sweep();
