/**
 * Real processes for cluster tests: a private Redis server, web instances and workers started
 * as `node --import tsx src/main.ts` / `workers/lifecycle-worker.ts`, all on loopback.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");

export const hasRedisServer = (() => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Called with the process as soon as it is spawned (before it is ready), e.g. to track it. */
  onSpawn?: (proc: Proc) => void;
}

/**
 * Spawns a process and resolves once a line of its output matches `readyLine`. Its output is
 * kept bounded (the latest ~200 chunks: enough for a report, fine for a long soak).
 */
export function run(command: string, args: string[], env: Record<string, string | undefined>, readyLine: RegExp, options: RunOptions = {}): Promise<Proc> {
  const { timeoutMs = 30_000, onSpawn } = options;
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const proc: Proc = { child, output, exited, kill: (signal = "SIGTERM") => void child.kill(signal) };
  onSpawn?.(proc);
  const tail = () => output.join("").slice(-3000);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // never leave a half-started process behind
      reject(new Error(`${args.join(" ")} not ready in ${timeoutMs} ms:\n${tail()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      if (output.length > 400) output.splice(0, 200);
      if (readyLine.test(text)) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited early:\n${tail()}`));
    });
  });
}

export async function startRedis(port: number): Promise<Proc> {
  return run("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {}, /Ready to accept connections/);
}

export interface WebInstance extends Proc {
  port: number;
  baseUrl: string;
}

export async function startWeb(env: Record<string, string | undefined>): Promise<WebInstance> {
  const port = await freePort();
  const proc = await run(process.execPath, ["--import", "tsx", "src/main.ts"], { ...env, PORT: String(port), HOST: "127.0.0.1" }, /StreamIt listening/);
  return { ...proc, port, baseUrl: `http://127.0.0.1:${port}` };
}

export function startWorker(env: Record<string, string | undefined>): Promise<Proc> {
  return run(process.execPath, ["--import", "tsx", "workers/lifecycle-worker.ts"], env, /lifecycle worker started/);
}
