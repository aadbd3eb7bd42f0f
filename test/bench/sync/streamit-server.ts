/**
 * The StreamIt server under test: one embedded-mode process (PGlite in memory, in-process
 * state), started the way run.ts starts its servers, on a port of the OS's choosing, reported
 * by listening.ts. Its warnings go to test/bench/results/logs/, to explain a bad run.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../../..");

export interface StreamItServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `corsOrigin`: the pages' origin, which their Socket.IO connections present. */
export async function startStreamIt(corsOrigin: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<StreamItServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-01",
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-sync-")),
    DATABASE_URL: "memory://",
    CORS_ORIGINS: corsOrigin,
    ...extraEnv,
  };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "--import", "./test/bench/listening.ts", "src/main.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const logs = path.join(root, "test/bench/results/logs");
  mkdirSync(logs, { recursive: true });
  child.stdout!.pipe(createWriteStream(path.join(logs, `server-sync-${child.pid}.log`)));
  const port = await new Promise<number>((resolve, reject) => {
    let seen = "";
    const settle = (error?: Error, found?: number) => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      if (error) {
        child.kill("SIGKILL");
        reject(error);
      } else resolve(found!);
    };
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4000);
      const match = /BENCH_LISTENING (\d+)/.exec(seen);
      if (match) settle(undefined, Number(match[1]));
    };
    const onExit = () => settle(new Error("the StreamIt server exited before it listened"));
    const timer = setTimeout(() => settle(new Error("the StreamIt server did not start within 60 s")), 60_000);
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.once("exit", () => {
          clearTimeout(force);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
