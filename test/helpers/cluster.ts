/**
 * Real processes for cluster tests: a private Redis server, web instances and workers started
 * as `node --import tsx src/main.ts` / `workers/lifecycle-worker.ts`, all on loopback.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
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

/**
 * A port for a server that cannot listen on port 0 and report the one it got (redis-server takes
 * `--port 0` as "no TCP"; PostgreSQL needs its port up front): a random one below the kernel's
 * ephemeral range, so never one that the OS hands out for port 0 or to an outgoing connection.
 * Another process may still hold it: the caller retries with another on "address in use"
 * (startRedis, startPrivatePostgres). The OS's own choice (bind to 0, close, reuse) is not
 * better: that port is free only until the next connection takes it.
 */
export function quietPort(): number {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    /* not Linux: its default range */
  }
  const floor = 10_000;
  return low > floor + 1000 ? randomInt(floor, low) : randomInt(Math.max(1025, low - 5000), low);
}

/** How many ports a server that cannot listen on 0 tries before giving up. */
export const PORT_ATTEMPTS = 8;

export interface Proc {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** The output matched by the ready line (its groups, e.g. the bound port). */
  ready?: RegExpExecArray;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Called with the process as soon as it is spawned (before it is ready), e.g. to track it. */
  onSpawn?: (proc: Proc) => void;
  /** Working directory (default: the repository), e.g. a fresh install elsewhere. */
  cwd?: string;
}

/**
 * Spawns a process and resolves once a line of its output matches `readyLine`. Its output is
 * kept bounded (the latest ~200 chunks: enough for a report, fine for a long soak).
 */
export function run(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  readyLine: RegExp,
  options: RunOptions = {},
): Promise<Proc> {
  const { timeoutMs = 30_000, onSpawn, cwd = root } = options;
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
    // The ready line is looked for in what came since the last ready check (a line may arrive in two chunks).
    let unmatched = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      if (output.length > 400) output.splice(0, 200);
      if (proc.ready) return;
      unmatched = (unmatched + text).slice(-8000);
      const match = readyLine.exec(unmatched);
      if (match) {
        proc.ready = match;
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

/** redis-server's command line: loopback only, no persistence. */
export const redisArgs = (port: number): string[] => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];

/**
 * A private redis-server. Without `port`, on a quietPort(), another one while the port turns out
 * to be taken (redis-server cannot listen on 0 and say which port it got); with `port` (a restart
 * where the clients expect it), there only.
 */
export async function startRedis(port?: number, options: RunOptions = {}): Promise<Proc & { port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    const candidate = port ?? quietPort();
    try {
      const proc = await run("redis-server", redisArgs(candidate), {}, /Ready to accept connections/, options);
      return Object.assign(proc, { port: candidate });
    } catch (err) {
      const taken = /address already in use/i.test(String(err));
      if (port !== undefined || !taken || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

export interface WebInstance extends Proc {
  port: number;
  baseUrl: string;
}

/** The line a web process logs once it listens (src/main.ts), with the port it was given. */
export const LISTENING = /StreamIt listening on http:\/\/[^\s:"]+:(\d+)/;

/** A web process on a port of the OS's choosing (PORT=0), read from its "listening" line. */
export async function startWeb(env: Record<string, string | undefined>, options: RunOptions = {}): Promise<WebInstance> {
  const proc = await run(
    process.execPath,
    ["--import", "tsx", "src/main.ts"],
    { ...env, PORT: "0", HOST: "127.0.0.1" },
    LISTENING,
    options,
  );
  return webInstance(proc);
}

/** A web process that is ready: its port from the ready line. */
export function webInstance(proc: Proc): WebInstance {
  const port = Number(proc.ready?.[1]);
  if (!port) throw new Error(`no port in the listening line: ${proc.ready?.[0] ?? "(none)"}`);
  return Object.assign(proc, { port, baseUrl: `http://127.0.0.1:${port}` });
}

export function startWorker(env: Record<string, string | undefined>): Promise<Proc> {
  return run(process.execPath, ["--import", "tsx", "workers/lifecycle-worker.ts"], env, /lifecycle worker started/);
}
