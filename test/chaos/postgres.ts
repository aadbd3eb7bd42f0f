/**
 * A private, throw-away PostgreSQL 15 server for fault-injection tests and the soak: its own
 * data directory under the OS temp dir, its own loopback port and socket directory, so that
 * stopping it (even with `-m immediate`, a crash) never touches the machine's main cluster.
 *
 * initdb and the server refuse to run as root, so they run as the `postgres` OS user through
 * `runuser` (the test process must be root, or already be that user).
 */
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { PORT_ATTEMPTS, quietPort } from "../helpers/cluster.js";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** True when a private server can be made here: binaries, a `postgres` user, and root (or it). */
export const canRunPrivatePostgres: boolean = (() => {
  if (!existsSync(path.join(PG_BIN, "initdb")) || !existsSync(path.join(PG_BIN, "pg_ctl"))) return false;
  const ids = postgresIds();
  if (!ids) return false;
  const me = userInfo().uid;
  return me === 0 || me === ids.uid;
})();

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, loopback only). */
  url: string;
  dir: string;
  /** Starts the server (again) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it: `immediate` is a crash (no checkpoint; WAL replay on the next start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Whether the postmaster runs. */
  running(): Promise<boolean>;
  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend): connections stay open
   * but nothing answers, like a stuck host or a network partition. `thaw()` resumes it.
   */
  freeze(): void;
  thaw(): void;
  /**
   * Stops it if running (immediately) and removes its directory. Synchronous, so that it can
   * run from an exit or signal handler. Idempotent, never throws.
   */
  destroy(): void;
  /** The server log (the last `chars` characters). */
  log(chars?: number): string;
}

export async function startPrivatePostgres(options: { settings?: Record<string, string> } = {}): Promise<PrivatePostgres> {
  const ids = postgresIds();
  if (!ids || !canRunPrivatePostgres) throw new Error("cannot run a private PostgreSQL here (no binaries, no postgres user, or not root)");
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), "streamit-pg-"));
  if (asRoot) chownSync(dir, ids.uid, ids.gid);
  const data = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  // PostgreSQL cannot listen on port 0 and report the port it got: a quietPort(), and another
  // while the first start says the port is taken (see the start loop at the end).
  let port = quietPort();
  /** Runs a PostgreSQL program (as `postgres` when we are root), without blocking the event loop. */
  const run = (bin: string, args: string[], timeoutMs = 60_000) =>
    new Promise<{ status: number | null; output: string }>((resolve) => {
      const command = path.join(PG_BIN, bin);
      const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
      execFile(file, argv as string[], { encoding: "utf8", timeout: timeoutMs, cwd: dir }, (err, stdout, stderr) => {
        const status = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
        resolve({ status, output: `${stdout}${stderr}` });
      });
    });
  const must = async (bin: string, args: string[], timeoutMs?: number) => {
    const result = await run(bin, args, timeoutMs);
    if (result.status !== 0) {
      throw new Error(`${bin} ${args.join(" ")} failed (${result.status}): ${result.output}\n${tail(logFile, 2000)}`);
    }
  };

  await must("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"]);
  // fsync=off: these tests crash the server process, never the machine. A committed
  // transaction's WAL has been written to the kernel at commit (synchronous_commit stays on),
  // so it survives an immediate stop and is replayed on restart, exactly as with fsync on.
  const opts = () =>
    Object.entries({
      listen_addresses: "127.0.0.1",
      port: String(port),
      unix_socket_directories: dir,
      fsync: "off",
      full_page_writes: "off",
      max_connections: "100",
      shared_buffers: "32MB",
      log_min_messages: "warning",
      ...options.settings,
    })
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(" ");

  let destroyed = false;
  const pgControl = {
    /** Fixed once the first start succeeded (restarts keep it: the clients were given it). */
    get port() {
      return port;
    },
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    dir,
    async start() {
      await must("pg_ctl", ["-D", data, "-l", logFile, "-o", opts(), "-w", "-t", "60", "start"], 70_000);
    },
    async stop(mode: "fast" | "immediate" = "fast") {
      await must("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"], 70_000);
    },
    async running() {
      return (await run("pg_ctl", ["-D", data, "status"])).status === 0;
    },
    freeze() {
      signalAll(data, "SIGSTOP");
    },
    thaw() {
      signalAll(data, "SIGCONT");
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      signalAll(data, "SIGCONT");
      stopSync(data, asRoot);
      rmSync(dir, { recursive: true, force: true });
    },
    log(chars = 4000) {
      return tail(logFile, chars);
    },
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      await pgControl.start();
      return pgControl;
    } catch (err) {
      // The server log says so when another process holds the port: try another one.
      if (attempt < PORT_ATTEMPTS && /address already in use/i.test(String(err))) {
        port = quietPort();
        rmSync(logFile, { force: true }); // the next attempt's failure is judged by its own log
        continue;
      }
      pgControl.destroy();
      throw err;
    }
  }
}

/** Signals the postmaster of `data` and all its children (backends, background processes). */
function signalAll(data: string, signal: NodeJS.Signals): void {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return; // not running
  }
  if (!postmaster) return;
  let children: number[] = [];
  try {
    children = execFileSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    /* no children */
  }
  // Parent first on stop (it cannot fork new backends meanwhile), children first on resume.
  const order = signal === "SIGSTOP" ? [postmaster, ...children] : [...children, postmaster];
  for (const pid of order) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** pg_ctl stop -m immediate, synchronously (for exit handlers). */
function stopSync(data: string, asRoot: boolean): void {
  if (!existsSync(path.join(data, "postmaster.pid"))) return;
  const command = path.join(PG_BIN, "pg_ctl");
  const args = ["-D", data, "-m", "immediate", "-w", "-t", "20", "stop"];
  try {
    if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "ignore", timeout: 30_000 });
    else execFileSync(command, args, { stdio: "ignore", timeout: 30_000 });
  } catch {
    /* best effort */
  }
}

function tail(file: string, chars: number): string {
  try {
    if (!statSync(file).isFile()) return "";
    const text = execFileSync("tail", ["-c", String(chars), file], { encoding: "utf8" });
    return text;
  } catch {
    return "";
  }
}
