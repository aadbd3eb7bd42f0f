import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const dataDir = () => mkdtempSync(path.join(tmpdir(), "streamit-config-"));

describe("configuration", () => {
  it("has the documented defaults and runs embedded with no variables", () => {
    const dir = dataDir();
    const config = loadConfig({ DATA_DIR: dir });
    expect(config).toMatchObject({
      PORT: 8000,
      HOST: "0.0.0.0",
      ACCESS_TOKEN_TTL_SECONDS: 3600,
      GRACE_PERIOD_SECONDS: 300,
      DRIFT_THRESHOLD_SECONDS: 2,
      SYNC_SUMMARY_SECONDS: 5,
      APPROVAL_WAIT_SECONDS: 30,
      CORS_ORIGINS: ["http://localhost:3000", "http://127.0.0.1:3000"],
      TMDB_BASE_URL: "https://api.themoviedb.org/3",
      LOG_LEVEL: "info",
      DRAIN_TIMEOUT_MS: 15_000,
      clusterMode: false,
    });
    expect(config.database).toEqual({ kind: "pglite", dataDir: path.resolve(dir, "pgdata") });
  });

  it("generates a JWT secret once under DATA_DIR and reuses it", () => {
    const dir = dataDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.JWT_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(second.JWT_SECRET).toBe(first.JWT_SECRET);
    const file = path.join(dir, "jwt-secret");
    expect(readFileSync(file, "utf8")).toBe(first.JWT_SECRET);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it("switches to cluster mode with PostgreSQL and Redis URLs", () => {
    const config = loadConfig({
      DATA_DIR: dataDir(),
      DATABASE_URL: "postgres://u@db:5432/streamit",
      REDIS_URL: "redis://cache:6379",
      JWT_SECRET: "x".repeat(40),
    });
    expect(config.clusterMode).toBe(true);
    expect(config.database).toEqual({ kind: "postgres", url: "postgres://u@db:5432/streamit", schema: undefined });
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ GRACE_PERIOD_SECONDS: "0" }, "GRACE_PERIOD_SECONDS"],
    [{ DRIFT_THRESHOLD_SECONDS: "-1" }, "DRIFT_THRESHOLD_SECONDS"],
    [{ SYNC_SUMMARY_SECONDS: "0" }, "SYNC_SUMMARY_SECONDS"],
    [{ APPROVAL_WAIT_SECONDS: "41" }, "APPROVAL_WAIT_SECONDS"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ REDIS_URL: "http://x" }, "REDIS_URL"],
    [{ JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ CORS_ORIGINS: "not a url" }, "CORS_ORIGINS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ ADMIN_USERNAME: "admin" }, "ADMIN_PASSWORD"],
    [{ NODE_ENV: "production" }, "JWT_SECRET"],
    [{ TRUST_PROXY: "maybe" }, "TRUST_PROXY"],
    [{ DRAIN_TIMEOUT_MS: "500" }, "DRAIN_TIMEOUT_MS"],
  ])("refuses %j naming %s", (env, name) => {
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATA_DIR: dataDir(), ...env })).toThrow(new RegExp(`^Invalid configuration:\\n(.|\\n)*  ${name}: `));
  });

  it("treats empty variables as unset", () => {
    const config = loadConfig({ DATA_DIR: dataDir(), PORT: "", REDIS_URL: "" });
    expect(config.PORT).toBe(8000);
    expect(config.REDIS_URL).toBeUndefined();
  });
});
