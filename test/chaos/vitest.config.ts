/**
 * The chaos suite (`npm run test:chaos`): fault injection against real processes on a private
 * PostgreSQL and Redis. Kept out of `npm test` (its include is test/**\/*.test.ts): these files
 * are *.chaos.ts. One file at a time: each scenario starts its own servers, and the machine is
 * small.
 */
import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: path.resolve(import.meta.dirname, "../.."),
  test: {
    name: "chaos",
    include: ["test/chaos/**/*.chaos.ts"],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 90_000,
  },
});
