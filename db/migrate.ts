/** `npm run migrate`: applies pending migrations to the configured database. */
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";
import { migrateToLatest } from "./migrator.js";

const config = loadConfig();
const database = await openDatabase(config.database);
try {
  const { results = [] } = await migrateToLatest(database.db, database.schema);
  for (const r of results) console.log(`${r.status === "Success" ? "applied" : r.status}: ${r.migrationName}`);
  console.log(results.length === 0 ? "Database is up to date." : `Applied ${results.length} migration(s).`);
} finally {
  await database.close();
}
