/**
 * Starting and stopping a server under test: a process on a port of the OS's choosing (PORT=0),
 * ready once listening.ts says which; its warnings and errors go to a log per process
 * (test/bench/results/logs/), to explain a bad run. Used by run.ts and the sync bench.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const logsDir = path.join(root, "test/bench/results/logs");

export /** Starts a server under test on a port of the OS's choosing (PORT=0); ready once it says which (listening.ts). */
async function startProcess(
  script: string,
  env: NodeJS.ProcessEnv,
  profileDir?: string,
  logPrefix = "server",
): Promise<{ baseUrl: string; child: ChildProcess }> {
  const args = [
    "--import",
    "tsx",
    "--import",
    "./test/bench/listening.ts",
    ...(profileDir ? ["--import", "./test/bench/profiler.ts"] : []),
    script,
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...env, PORT: "0", HOST: "127.0.0.1", ...(profileDir ? { BENCH_PROFILE_DIR: profileDir } : {}) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  // The servers' warnings and errors (LOG_LEVEL=warn) go to a log per process, to explain a bad run.
  mkdirSync(logsDir, { recursive: true });
  child.stdout!.pipe(createWriteStream(path.join(logsDir, `${logPrefix}-${child.pid}.log`)));
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
    const onExit = () => settle(new Error(`${script} exited before it listened`));
    const timer = setTimeout(() => settle(new Error(`${script} did not start`)), 60_000);
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
  return { baseUrl: `http://127.0.0.1:${port}`, child };
}

/** SIGTERM (a profiled process writes its profile on the way out), SIGKILL if it lingers. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
