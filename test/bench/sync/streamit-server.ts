/**
 * The StreamIt server under test: one embedded-mode process (PGlite in memory, in-process
 * state), started the way run.ts starts its servers, on a port of the OS's choosing, reported
 * by listening.ts. Its warnings go to test/bench/results/logs/, to explain a bad run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startProcess, stopProcess } from "../server-process.js";

export interface StreamItServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `corsOrigin`: the pages' origin, which their Socket.IO connections present. */
export async function startStreamIt(corsOrigin: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<StreamItServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-01",
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-sync-")),
    DATABASE_URL: "memory://",
    CORS_ORIGINS: corsOrigin,
    ...extraEnv,
  };
  delete env.REDIS_URL;
  const { baseUrl, child } = await startProcess("src/main.ts", env, undefined, "server-sync");
  return {
    url: baseUrl,
    pid: child.pid!,
    stop: () => stopProcess(child),
  };
}
