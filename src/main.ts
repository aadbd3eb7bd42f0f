/** Entry point: config → app → listen → graceful shutdown. */
import { buildApp } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  const app = await buildApp(config);
  const log = app.http.log;
  await app.http.listen({ port: config.PORT, host: config.HOST });
  // The bound port (PORT=0 lets the OS choose one; the test and bench harnesses read it here).
  const address = app.http.server.address();
  const port = address && typeof address === "object" ? address.port : config.PORT;
  log.info(
    { mode: config.clusterMode ? "cluster" : "embedded", database: config.database.kind },
    `StreamIt listening on http://${config.HOST}:${port}`,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), config.DRAIN_TIMEOUT_MS).unref();
    app.close().then(
      () => {
        clearTimeout(force);
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  // A library promise that rejects with no handler (e.g. a Redis subscription during an outage)
  // must not take every connection of this process down with it.
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err) => {
  console.error("StreamIt failed to start:", err);
  process.exit(1);
});
