/**
 * The embedded data-directory lock (src/db-lock.ts): a lock naming a reused pid does not block
 * start-up, a live holder does (clearly; a second process refused is also covered by
 * lifecycle.test.ts and by the racing starters here), starters racing over a stale lock get
 * exactly one winner, and the real server survives five SIGKILL + restart cycles under chat load without
 * losing an acknowledged message. PGlite only: it runs the same in both vitest projects.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db.js";
import { bootId, type LockRecord, lockDataDir, ownLockRecord, processStartTime, UNREADABLE_GRACE_MS } from "../../src/db-lock.js";
import { Api } from "../helpers/api.js";
import { backend } from "../helpers/app.js";
import { rawClient } from "../helpers/clients.js";
import { startWeb, type WebInstance } from "../helpers/cluster.js";

const root = path.resolve(import.meta.dirname, "../..");
const hasProc = processStartTime(process.pid) !== undefined;
const inUse = (dataDir: string, pid: number) =>
  `The embedded database ${dataDir} is in use by process ${pid}. Stop it first, or use DATABASE_URL.`;

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function freshDataDir(): string {
  return path.join(tempDir("streamit-lock-"), "pgdata");
}

/** A lock record as another process on this machine would have written it. */
function recordOf(pid: number, started: string | undefined): LockRecord {
  const record: LockRecord = { pid, host: os.hostname() };
  if (started !== undefined) record.started = started;
  const boot = bootId();
  if (boot !== undefined) record.boot = boot;
  return record;
}

/** Opens and closes the directory; the lock is ours while open and gone after. */
async function openAndClose(dataDir: string): Promise<void> {
  const database = await openDatabase({ kind: "pglite", dataDir });
  try {
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, "utf8"))).toEqual(ownLockRecord());
    await database.ping();
  } finally {
    await database.close();
  }
  expect(existsSync(`${dataDir}.lock`)).toBe(false);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Takes and releases the lock alone (no PGlite): for the cases the end-to-end test does not need. */
async function lockAndRelease(dataDir: string): Promise<void> {
  const release = await lockDataDir(dataDir);
  expect(JSON.parse(readFileSync(`${dataDir}.lock`, "utf8"))).toEqual(ownLockRecord());
  release();
  expect(existsSync(`${dataDir}.lock`)).toBe(false);
}

describe("stale locks are taken over", () => {
  const fakeStart = "987654321987"; // no process on this machine started then

  // Without /proc (macOS) a live pid is all that can be checked: these locks would be held.
  it.runIf(hasProc)(
    "a live pid with another start time (pid reuse) does not block openDatabase",
    async () => {
      const dataDir = freshDataDir();
      writeFileSync(`${dataDir}.lock`, JSON.stringify(recordOf(process.ppid, fakeStart)));
      await openAndClose(dataDir);
    },
    30_000,
  );

  it.runIf(hasProc)("nor pid 1, nor this very process, with another start time", async () => {
    const dataDir = freshDataDir();
    for (const pid of [1, process.pid]) {
      writeFileSync(`${dataDir}.lock`, JSON.stringify(recordOf(pid, fakeStart)));
      await lockAndRelease(dataDir);
    }
  });

  it("a live pid with its own start time, but from another boot or another host", async () => {
    const dataDir = freshDataDir();
    const live = recordOf(process.ppid, processStartTime(process.ppid));
    if (live.boot !== undefined) {
      writeFileSync(`${dataDir}.lock`, JSON.stringify({ ...live, boot: "00000000-0000-0000-0000-000000000000" }));
      await lockAndRelease(dataDir);
    }
    writeFileSync(`${dataDir}.lock`, JSON.stringify({ ...live, host: `not-${os.hostname()}` }));
    await lockAndRelease(dataDir);
  });

  it("a pid that is gone", async () => {
    const dataDir = freshDataDir();
    // The largest pid Linux can hand out is 2^22; this one cannot be alive.
    writeFileSync(`${dataDir}.lock`, JSON.stringify(recordOf(2 ** 22 + 1, "1")));
    await lockAndRelease(dataDir);
  });

  it.runIf(hasProc)("a bare pid (older versions) whose process started after the file was written", async () => {
    const dataDir = freshDataDir();
    writeFileSync(`${dataDir}.lock`, String(process.ppid));
    const longAgo = new Date("2001-01-01T00:00:00Z");
    utimesSync(`${dataDir}.lock`, longAgo, longAgo);
    await lockAndRelease(dataDir);
  });

  it("an unparsable lock only once it is older than a writer could take", async () => {
    const dataDir = freshDataDir();
    writeFileSync(`${dataDir}.lock`, "{");
    const old = new Date(Date.now() - UNREADABLE_GRACE_MS - 5000);
    utimesSync(`${dataDir}.lock`, old, old);
    await lockAndRelease(dataDir);
    // A fresh empty lock: its writer may be writing it right now, so the starter waits it out.
    writeFileSync(`${dataDir}.lock`, "");
    const started = Date.now();
    await lockAndRelease(dataDir);
    expect(Date.now() - started).toBeGreaterThanOrEqual(UNREADABLE_GRACE_MS - 100);
  });
});

describe("a live holder blocks", () => {
  it("a second open while the first is open (here: in this same process)", async () => {
    const dataDir = freshDataDir();
    const first = await openDatabase({ kind: "pglite", dataDir });
    try {
      await expect(openDatabase({ kind: "pglite", dataDir })).rejects.toThrow(inUse(dataDir, process.pid));
      await first.ping(); // the refused starter left the holder alone
      expect(JSON.parse(readFileSync(`${dataDir}.lock`, "utf8"))).toEqual(ownLockRecord());
    } finally {
      await first.close();
    }
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  }, 30_000);

  it("a lock naming a live process exactly (same start time, boot and host)", async () => {
    const dataDir = freshDataDir();
    writeFileSync(`${dataDir}.lock`, JSON.stringify(recordOf(process.ppid, processStartTime(process.ppid))));
    await expect(openDatabase({ kind: "pglite", dataDir })).rejects.toThrow(inUse(dataDir, process.ppid));
    // A refused starter never removes the holder's lock.
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, "utf8")).pid).toBe(process.ppid);
  });

  it.runIf(hasProc)("a bare pid (older versions) of a process that was running when it was written", async () => {
    const dataDir = freshDataDir();
    writeFileSync(`${dataDir}.lock`, String(process.ppid));
    await expect(openDatabase({ kind: "pglite", dataDir })).rejects.toThrow(inUse(dataDir, process.ppid));
  });
});

/** A child process that takes the lock when told to, reports, and holds it until its stdin ends. */
const CONTENDER = `
import { createInterface } from "node:readline";
const { lockDataDir } = await import("./src/db-lock.ts");
const lines = createInterface({ input: process.stdin });
const say = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
say({ ready: true });
let release;
for await (const line of lines) {
  if (line !== "go" || release) continue;
  try {
    release = await lockDataDir(process.argv[1]);
    say({ won: true });
  } catch (err) {
    say({ error: err.message });
  }
}
release?.();
`;

interface Contender {
  child: ChildProcess;
  messages: Record<string, unknown>[];
  next(): Promise<Record<string, unknown>>;
}

function contender(dataDir: string): Contender {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CONTENDER, dataDir], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buffer = "";
  let read = 0;
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      messages.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      buffer = buffer.slice(nl + 1);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async () => {
    while (read >= messages.length) {
      if (child.exitCode !== null) throw new Error(`contender ${child.pid} exited (${child.exitCode})`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        child.once("exit", () => resolve());
      });
    }
    return messages[read++]!;
  };
  return { child, messages, next };
}

describe.runIf(backend === "embedded")("starters racing over a stale lock", () => {
  it.runIf(hasProc)(
    "exactly one wins; the others name it",
    async () => {
      const dataDir = freshDataDir();
      const lockFile = `${dataDir}.lock`;
      writeFileSync(lockFile, JSON.stringify(recordOf(process.ppid, "987654321987"))); // a reused pid
      const contenders = Array.from({ length: 4 }, () => contender(dataDir));
      try {
        for (const c of contenders) expect(await withTimeout(c.next(), 30_000, () => "contender ready")).toEqual({ ready: true });
        for (const c of contenders) c.child.stdin!.write("go\n");
        const results = await Promise.all(contenders.map((c) => withTimeout(c.next(), 15_000, () => "contender result")));
        const winners = contenders.filter((_, i) => results[i]!.won === true);
        expect(winners).toHaveLength(1);
        const winner = winners[0]!.child.pid!;
        for (const result of results.filter((r) => r.won !== true)) expect(result.error).toBe(inUse(dataDir, winner));
        expect(JSON.parse(readFileSync(lockFile, "utf8")).pid).toBe(winner);
      } finally {
        for (const c of contenders) c.child.stdin!.end();
        await Promise.all(contenders.map((c) => (c.child.exitCode === null ? new Promise((r) => c.child.once("exit", r)) : undefined)));
      }
      expect(existsSync(lockFile)).toBe(false); // the winner released it on the way out
    },
    60_000,
  );
});

/** The real server, embedded on PGlite under DATA_DIR/pgdata (no PostgreSQL, no Redis). */
function serverEnv(dataDir: string): Record<string, string | undefined> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "info",
    JWT_SECRET: "test-secret-test-secret-test-secret-0123",
    DATA_DIR: dataDir,
    TRUST_PROXY: "true",
    DATABASE_URL: undefined,
    DATABASE_SCHEMA: undefined,
    REDIS_URL: undefined,
    REDIS_PREFIX: undefined,
  };
}

// PGlite only: the cluster project would run the same processes again for nothing.
describe.runIf(backend === "embedded")("kill -9 under write load", () => {
  const CYCLES = 5;
  const HOSTS = 8;
  /** Per host and cycle: the chat rate limit allows 5 messages per 3 s. */
  const PER_HOST = 5;
  /** The server is killed once this many of a cycle's HOSTS * PER_HOST messages are acknowledged. */
  const KILL_AFTER = 15;

  it("five SIGKILL + restart cycles all start and lose no acknowledged message", { timeout: 120_000 }, async () => {
    const dataDir = tempDir("streamit-kill9-");
    const lockFile = path.join(dataDir, "pgdata.lock");
    const env = serverEnv(dataDir);
    const acked = new Set<string>();
    const sent = new Set<string>();
    let hosts: { token: string; code: string }[] | undefined;
    let web: WebInstance | undefined;
    let clients: ReturnType<typeof rawClient>[] = [];
    try {
      for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
        web = await startWeb(env);
        const api = new Api(web.baseUrl);
        hosts ??= await Promise.all(
          Array.from({ length: HOSTS }, async () => {
            const user = await api.register();
            const room = await api.createRoom(user.token);
            return { token: user.token, code: room.code };
          }),
        );
        clients = hosts.map((h) => rawClient(web!.baseUrl, h.code, h.token));
        await Promise.all(clients.map((c) => c.drainJoin()));

        // Each host's own CHAT_MESSAGE broadcast is the acknowledgement (sent after the commit).
        let ackedNow = 0;
        const errors: unknown[] = [];
        const enough = new Promise<void>((resolve) => {
          for (const c of clients) {
            c.socket.on("message", (data: Buffer) => {
              const message = JSON.parse(data.toString()) as { type: string; message?: string };
              if (message.type === "ERROR") errors.push(message);
              if (message.type !== "CHAT_MESSAGE" || !sent.has(message.message!) || acked.has(message.message!)) return;
              acked.add(message.message!);
              if ((ackedNow += 1) >= KILL_AFTER) resolve();
            });
          }
        });
        clients.forEach((c, h) => {
          for (let i = 0; i < PER_HOST; i += 1) {
            const text = `c${cycle}-h${h}-m${i}`;
            sent.add(text);
            c.send({ type: "CHAT_MESSAGE", message: text });
          }
        });
        await withTimeout(enough, 20_000, () => `cycle ${cycle}: ${ackedNow} acks; errors ${JSON.stringify(errors.slice(0, 3))}`);

        web.kill("SIGKILL"); // mid-load: most of this cycle's messages are still in flight
        expect((await web.exited).signal).toBe("SIGKILL");
        web = undefined;
        for (const c of clients) c.socket.terminate();
        expect(existsSync(lockFile)).toBe(true); // left behind: the next start must take it over
        if (cycle % 2 === 0) {
          // As after a reboot or in a new container: the dead server's pid now belongs to a live process.
          const record = JSON.parse(readFileSync(lockFile, "utf8")) as LockRecord;
          writeFileSync(lockFile, JSON.stringify({ ...record, pid: process.pid }));
        }
      }
      // The fifth restart, then a clean stop (which releases the lock).
      web = await startWeb(env);
      expect((await new Api(web.baseUrl).get("/health/")).status).toBe(200);
      web.kill("SIGTERM");
      expect((await web.exited).code).toBe(0);
      web = undefined;
      expect(existsSync(lockFile)).toBe(false);
    } finally {
      for (const c of clients) c.socket.terminate();
      if (web) {
        web.kill("SIGKILL");
        await web.exited;
      }
    }

    expect(acked.size).toBeGreaterThanOrEqual(CYCLES * KILL_AFTER);
    const database = await openDatabase({ kind: "pglite", dataDir: path.join(dataDir, "pgdata") });
    try {
      const rows = await database.db.selectFrom("chat_messages").select("message").execute();
      const stored = new Set(rows.map((r) => r.message));
      expect([...acked].filter((text) => !stored.has(text))).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
