/**
 * The lock of an embedded (PGlite) data directory. PGlite is single-process: a second process on
 * the same directory would corrupt it, so `${dataDir}.lock` names the process that has it open.
 *
 * The lock file holds `{pid, started, boot, host}`: the pid, that process's start time (Linux:
 * field 22 of /proc/<pid>/stat), the boot id (Linux: /proc/sys/kernel/random/boot_id) and the
 * hostname. A lock is held only while its pid is alive AND that pid still has the recorded start
 * time AND boot id and hostname are ours: a pid reused after a reboot or in a new container (where
 * pid 1 is common) is somebody else, and its lock is stale. Without /proc (macOS) the check falls
 * back to "the pid is alive".
 *
 * Race-free between processes starting at once: the lock is created exclusively ("wx"), so one
 * starter wins. A stale lock is removed by one starter only, the one that exclusively creates the
 * take-over token named after that exact lock file (inode, mtime, content); it checks again that
 * the file is still that stale lock before removing it, then everybody retries the exclusive create.
 * A lock file that is empty or unparsable (a crash while it was written) is stale once it is older
 * than UNREADABLE_GRACE_MS; until then its writer may still be writing it, so starters wait.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface LockRecord {
  pid: number;
  /** The process start time as the OS gives it (Linux: clock ticks since boot), when known. */
  started?: string;
  /** Linux boot id, when readable. */
  boot?: string;
  host: string;
}

/** How long an empty or unparsable lock file may be in the middle of being written. */
export const UNREADABLE_GRACE_MS = 2000;
/** The lock is given up on after this long if it keeps changing hands under us. */
const ACQUIRE_TIMEOUT_MS = 10_000;
const RETRY_MS = 25;
/** Clock ticks per second of /proc/<pid>/stat start times (USER_HZ: 100 on every Linux port). */
const USER_HZ = 100;

/** The error a starter gets while another live process holds the directory. */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`The embedded database ${dataDir} is in use by process ${pid}. Stop it first, or use DATABASE_URL.`);
  }
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Field 22 (`starttime`) of /proc/<pid>/stat, or undefined without /proc or that process. */
export function processStartTime(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Field 2 (the command) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[22 - 3] || undefined;
}

export function bootId(): string | undefined {
  return readOptional("/proc/sys/kernel/random/boot_id")?.trim() || undefined;
}

/** The wall-clock time (ms) a process started, on Linux; for lock files of older versions. */
function processStartedAt(pid: number): number | undefined {
  const started = processStartTime(pid);
  const btime = readOptional("/proc/stat")?.match(/^btime (\d+)$/m)?.[1];
  if (started === undefined || btime === undefined) return undefined;
  return Number(btime) * 1000 + (Number(started) / USER_HZ) * 1000;
}

export function ownLockRecord(): LockRecord {
  const record: LockRecord = { pid: process.pid, host: os.hostname() };
  const started = processStartTime(process.pid);
  const boot = bootId();
  if (started !== undefined) record.started = started;
  if (boot !== undefined) record.boot = boot;
  return record;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

type Parsed = { kind: "record"; record: LockRecord } | { kind: "legacy"; pid: number } | undefined;

function parse(text: string): Parsed {
  // Versions before this one wrote the bare pid.
  if (/^\s*\d+\s*$/.test(text)) return { kind: "legacy", pid: Number(text) };
  try {
    const value = JSON.parse(text) as Partial<LockRecord> | null;
    if (!value || !Number.isSafeInteger(value.pid) || value.pid! <= 0 || typeof value.host !== "string") return undefined;
    if (value.started !== undefined && typeof value.started !== "string") return undefined;
    if (value.boot !== undefined && typeof value.boot !== "string") return undefined;
    return { kind: "record", record: value as LockRecord };
  } catch {
    return undefined;
  }
}

/** True while the process a lock record names is that very process, still running. */
export function lockRecordHeld(record: LockRecord): boolean {
  if (record.host !== os.hostname()) return false;
  const boot = bootId();
  if (record.boot !== undefined && boot !== undefined && record.boot !== boot) return false;
  if (!processAlive(record.pid)) return false;
  const started = processStartTime(record.pid);
  // Without /proc (or a record written without it) only liveness can be checked.
  if (record.started === undefined || started === undefined) return true;
  return started === record.started;
}

/** A bare-pid lock of an older version: held if that pid is alive and was already running when the file was written. */
function legacyHeld(pid: number, writtenAt: number): boolean {
  if (pid === process.pid || !processAlive(pid)) return false;
  const startedAt = processStartedAt(pid);
  // btime has a 1 s resolution: allow for it.
  return startedAt === undefined || startedAt <= writtenAt + 2000;
}

interface Snapshot {
  text: string;
  ino: number;
  mtimeMs: number;
}

function snapshot(file: string): Snapshot | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const { ino, mtimeMs } = fstatSync(fd);
    return { text: readFileSync(fd, "utf8"), ino, mtimeMs };
  } finally {
    closeSync(fd);
  }
}

const sameFile = (a: Snapshot, b: Snapshot) => a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.text === b.text;

type Verdict = { state: "held"; pid: number } | { state: "writing" } | { state: "stale" };

function judge(snap: Snapshot, now = Date.now()): Verdict {
  const parsed = parse(snap.text);
  if (!parsed) return now - snap.mtimeMs > UNREADABLE_GRACE_MS ? { state: "stale" } : { state: "writing" };
  if (parsed.kind === "legacy") return legacyHeld(parsed.pid, snap.mtimeMs) ? { state: "held", pid: parsed.pid } : { state: "stale" };
  return lockRecordHeld(parsed.record) ? { state: "held", pid: parsed.record.pid } : { state: "stale" };
}

/** Creates `file` with `text` if it does not exist yet; false if it does. */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(file);
    throw err;
  }
  closeSync(fd);
  return true;
}

function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/**
 * Removes the stale lock `stale` unless another starter is doing so. Only the starter that
 * creates this lock's take-over token may remove it, and only if the lock file is still it.
 * Returns false when it had to leave it to somebody else (the caller waits a little).
 */
function removeStale(file: string, stale: Snapshot, mine: string): boolean {
  const id = createHash("sha256").update(`${stale.ino}:${stale.mtimeMs}:${stale.text}`).digest("hex").slice(0, 16);
  const token = `${file}.takeover-${id}`;
  if (!createExclusive(token, mine)) {
    // Another starter has it; if that starter died in those few milliseconds, drop its token.
    const other = snapshot(token);
    if (other && judge(other).state === "stale") unlinkIfPresent(token);
    return false;
  }
  try {
    const now = snapshot(file);
    if (now && sameFile(now, stale) && judge(now).state === "stale") unlinkIfPresent(file);
  } finally {
    unlinkIfPresent(token);
  }
  return true;
}

/**
 * Locks the PGlite data directory `dataDir` for this process; resolves with the release function.
 * Throws DataDirInUseError while another live process holds it (this one included: one PGlite
 * per directory).
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  const file = `${dataDir}.lock`;
  mkdirSync(path.dirname(file), { recursive: true });
  const mine = JSON.stringify(ownLockRecord());
  const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (createExclusive(file, mine)) return () => release(file, mine);
    const snap = snapshot(file);
    if (!snap) continue; // released in the meantime
    const verdict = judge(snap);
    if (verdict.state === "held") throw new DataDirInUseError(dataDir, verdict.pid);
    if (verdict.state === "stale" && removeStale(file, snap, mine)) continue;
    await sleep(RETRY_MS);
  }
  throw new Error(
    `Could not lock the embedded database ${dataDir}: its lock file ${file} kept changing for ${ACQUIRE_TIMEOUT_MS / 1000} s.`,
  );
}

/** Removes the lock file if it still holds our record (never somebody else's). */
function release(file: string, mine: string): void {
  try {
    if (readFileSync(file, "utf8") === mine) unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}
