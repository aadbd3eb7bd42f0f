/**
 * Two projects run the same suite:
 *  - embedded: PGlite in memory, in-process state (no services needed);
 *  - cluster-backends: PostgreSQL + Redis from the machine (TEST_DATABASE_URL / TEST_REDIS_URL,
 *    falling back to DATABASE_URL / REDIS_URL, then 127.0.0.1), included only when both answer. Each test file isolates itself in its
 *    own PostgreSQL schema and Redis key prefix.
 */
import { connect } from "node:net";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

const pgEnv = [process.env.TEST_DATABASE_URL, process.env.DATABASE_URL].find((u) => u?.startsWith("postgres"));
const PG_URL = pgEnv ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(false));
  });
}

export default defineConfig(async () => {
  const services = (await reachable(PG_URL)) && (await reachable(REDIS_URL));
  if (!services && process.env.REQUIRE_SERVICES === "1") {
    throw new Error(`PostgreSQL (${PG_URL}) or Redis (${REDIS_URL}) is not reachable`);
  }
  // setupFiles: every realtime client a test opens is closed after it (test/helpers/open-clients.ts).
  const shared = { include: ["test/**/*.test.ts"], setupFiles: ["test/helpers/setup.ts"], testTimeout: 20_000, hookTimeout: 30_000 };
  const projects: TestProjectInlineConfiguration[] = [
    { extends: true as const, test: { ...shared, name: "embedded", env: { STREAMIT_TEST_BACKEND: "embedded" } } },
    ...(services
      ? [
          {
            extends: true as const,
            test: {
              ...shared,
              name: "cluster-backends",
              env: { STREAMIT_TEST_BACKEND: "cluster", TEST_DATABASE_URL: PG_URL, TEST_REDIS_URL: REDIS_URL },
            },
          },
        ]
      : []),
  ];
  return { test: { projects } };
});
