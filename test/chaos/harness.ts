/**
 * Fault-injection harness shared by the chaos scenarios and the soak: a private PostgreSQL and
 * Redis, web instances and lifecycle workers as real processes, and chat participants that keep
 * a ledger of every message they send (acknowledged, refused, unanswered) and receive.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { Api } from "../helpers/api.js";
import { rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { LISTENING, type Proc, redisArgs, run, startRedis, type WebInstance, webInstance } from "../helpers/cluster.js";
import { type PrivatePostgres, startPrivatePostgres } from "./postgres.js";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a truthy value or the deadline passes (then throws `what`). */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
    await sleep(everyMs);
  }
}

// ---- the cluster -------------------------------------------------------------------------

export interface ClusterOptions {
  webs?: number;
  workers?: number;
  /** Extra environment for every process (e.g. GRACE_PERIOD_SECONDS). */
  env?: Record<string, string>;
}

/** Everything a scenario started; `stop()` ends all of it (also from a signal handler). */
export class ChaosCluster {
  webs: WebInstance[] = [];
  workers: Proc[] = [];
  /** Every process ever started, for the final kill and for logs on failure. */
  private readonly started: { name: string; proc: Proc }[] = [];
  private pool: pg.Pool | undefined;
  private stopped = false;

  private constructor(
    readonly pg: PrivatePostgres,
    public redis: Proc,
    readonly redisPort: number,
    readonly env: Record<string, string>,
    private readonly dataDir: string,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<ChaosCluster> {
    const pgServer = await startPrivatePostgres();
    let cluster: ChaosCluster | undefined;
    try {
      const redis = await startRedis();
      const redisPort = redis.port;
      const dataDir = mkdtempSync(path.join(tmpdir(), "streamit-chaos-"));
      const env: Record<string, string> = {
        NODE_ENV: "test",
        DATABASE_URL: pgServer.url,
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        REDIS_PREFIX: "chaos:",
        JWT_SECRET: "chaos-secret-chaos-secret-chaos-secret-0001",
        GRACE_PERIOD_SECONDS: "30",
        PRESENCE_TTL_SECONDS: "2",
        // info: the readiness line ("StreamIt listening") is logged at info.
        LOG_LEVEL: "info",
        TRUST_PROXY: "true",
        // Many fixtures come from this one machine: per-address budgets must not get in the way.
        SIGNUPS_PER_CLIENT: "100000",
        SOCKETS_PER_CLIENT: "100000",
        SOCKET_CONNECTS_PER_MINUTE: "100000",
        // The harness measures recovery from dependency faults, not load shedding (a stalled loop here is the test machine).
        EVENT_LOOP_DELAY_MAX_MS: "0",
        DATA_DIR: dataDir,
        ...options.env,
      };
      cluster = new ChaosCluster(pgServer, redis, redisPort, env, dataDir);
      cluster.track("redis", redis);
      // One instance first (it migrates the schema), then the others in parallel.
      if ((options.webs ?? 2) > 0) await cluster.addWeb();
      await Promise.all([
        ...Array.from({ length: (options.webs ?? 2) - 1 }, () => cluster!.addWeb()),
        ...Array.from({ length: options.workers ?? 0 }, () => cluster!.addWorker()),
      ]);
      return cluster;
    } catch (err) {
      if (cluster) await cluster.stop();
      else pgServer.destroy();
      throw err;
    }
  }

  private track(name: string, proc: Proc): void {
    this.started.push({ name, proc });
  }

  async addWeb(env: Record<string, string> = {}): Promise<WebInstance> {
    // PORT=0: the OS picks the port, the process says which in its listening line.
    const proc = await this.spawn("web", ["src/main.ts"], { ...this.env, ...env, PORT: "0", HOST: "127.0.0.1" }, LISTENING);
    const web = webInstance(proc);
    this.webs.push(web);
    return web;
  }

  async addWorker(): Promise<Proc> {
    const worker = await this.spawn("worker", ["workers/lifecycle-worker.ts"], this.env, /lifecycle worker started/);
    this.workers.push(worker);
    return worker;
  }

  /** Starts a process (a tsx script unless `command` is given), tracked from its spawn on. */
  private spawn(
    name: string,
    args: string[],
    env: Record<string, string>,
    readyLine: RegExp,
    timeoutMs = 30_000,
    command?: string,
  ): Promise<Proc> {
    return run(command ?? process.execPath, command ? args : ["--import", "tsx", ...args], env, readyLine, {
      timeoutMs,
      onSpawn: (proc) => this.track(`${name} (pid ${proc.child.pid})`, proc),
    });
  }

  /** SIGKILLs a process and waits for it to be gone; it leaves `webs` / `workers`. */
  async kill(proc: Proc, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    proc.kill(signal);
    await proc.exited;
    this.webs = this.webs.filter((w) => w !== proc);
    this.workers = this.workers.filter((w) => w !== proc);
  }

  /** Kills Redis (SIGKILL: no persistence, every key is lost), waits `downMs`, starts it again. */
  async restartRedis(downMs: number): Promise<void> {
    this.redis.kill("SIGKILL");
    await this.redis.exited;
    await sleep(downMs);
    // The same command line as test/helpers/cluster.ts's startRedis (no persistence), on the same
    // port: the clients were given it.
    this.redis = await this.spawn(
      "redis (restarted)",
      redisArgs(this.redisPort),
      {},
      /Ready to accept connections/,
      30_000,
      "redis-server",
    );
  }

  /** A pool on the private PostgreSQL for assertions (it survives server restarts). */
  db(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.pg.url, max: 3 });
      this.pool.on("error", () => {});
    }
    return this.pool;
  }

  api(i = 0): Api {
    return new Api(this.webs[i]!.baseUrl);
  }

  /** Waits until every running web instance answers /health/ with 200; returns the time taken. */
  async healthy(timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    await Promise.all(
      this.webs.map((web) =>
        eventually(`${web.baseUrl}/health/ = 200`, async () => (await new Api(web.baseUrl).get("/health/")).status === 200, timeoutMs),
      ),
    );
    return Date.now() - started;
  }

  /** The tail of every process's output, for failure reports. */
  logs(chars = 3000): string {
    const parts = this.started.map(({ name, proc }) => `---- ${name}\n${proc.output.join("").slice(-chars)}`);
    parts.push(`---- postgres\n${this.pg.log(chars)}`);
    return parts.join("\n");
  }

  /** Kills every process, stops PostgreSQL and removes the temp dirs. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const { proc } of this.started) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.kill("SIGKILL");
    await Promise.all(this.started.map(({ proc }) => Promise.race([proc.exited, sleep(5000)])));
    await this.pool?.end().catch(() => {});
    this.pg.destroy();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The synchronous part of stop(), for process exit handlers. */
  stopSync(): void {
    for (const { proc } of this.started) {
      try {
        proc.child.kill("SIGKILL");
      } catch {
        /* gone */
      }
    }
    this.pg.destroy();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// ---- chat participants ---------------------------------------------------------------------

export type Transport = "ws" | "socket.io";
export type Outcome = "ack" | "nack" | "timeout" | "closed";

export interface SentMessage {
  text: string;
  sender: string;
  room: string;
  sentAt: number;
  settledAt?: number;
  outcome?: Outcome;
  /** The error code of a refusal. */
  code?: string;
  /** The committed message id (acknowledged messages). */
  id?: string;
}

export interface Identity {
  id: string;
  token: string;
  display_name?: string;
}

/**
 * One user's connection to a room on one instance and transport. Raw clients have no ack: the
 * sender's own CHAT_MESSAGE echo (the broadcast includes the sender) is the acknowledgement and
 * an ERROR the refusal (a connection's frames are handled one at a time, in order, so with one
 * message in flight the next ERROR belongs to it). Socket.IO clients use the ack callback.
 */
export class Member {
  client!: TestClient & { socket: unknown };
  /** Chat ids received live (CHAT_MESSAGE), first arrival time. */
  readonly delivered = new Map<string, number>();
  /** Every id seen in a CHAT_HISTORY on (re)join. */
  readonly history = new Set<string>();
  readonly errors: { code: string; at: number }[] = [];
  /** Connection periods [joinedAt, closedAt ?? now]; delivery is owed only inside one. */
  readonly sessions: { from: number; to?: number }[] = [];
  closeInfo: { code: number; reason: string } | undefined;
  expiredEvents = 0;
  lastPlayback: { version: number; time: number; is_playing: boolean } | undefined;
  playbackStates = 0;
  private pending: { text: string; resolve: (r: { outcome: Outcome; code?: string; id?: string }) => void } | undefined;

  constructor(
    readonly name: string,
    readonly user: Identity,
    readonly room: string,
    public baseUrl: string,
    readonly transport: Transport,
  ) {}

  get open(): boolean {
    const last = this.sessions.at(-1);
    return Boolean(last && last.to === undefined);
  }

  /** Connects and reads the join messages. */
  async connect(baseUrl = this.baseUrl, timeoutMs = 10_000): Promise<void> {
    this.baseUrl = baseUrl;
    this.closeInfo = undefined;
    const client =
      this.transport === "ws" ? rawClient(baseUrl, this.room, this.user.token) : sioClient(baseUrl, this.room, this.user.token);
    this.client = client;
    const onMessage = (m: { type: string } & Record<string, any>) => this.onMessage(m);
    if (client.kind === "ws") {
      (client as ReturnType<typeof rawClient>).socket.on("message", (data) => {
        try {
          onMessage(JSON.parse(data.toString()));
        } catch {
          /* not JSON */
        }
      });
    } else {
      (client as ReturnType<typeof sioClient>).socket.onAny((event: string, message: Record<string, any>) =>
        onMessage({ ...message, type: event }),
      );
    }
    void client.closed.then((info) => {
      this.closeInfo = info;
      const last = this.sessions.at(-1);
      if (last && last.to === undefined) last.to = Date.now();
      this.pending?.resolve({ outcome: "closed" });
      this.pending = undefined;
    });
    const joined = client.drainJoin();
    const failed = client.closed.then((info) => {
      throw new Error(`${this.name}: closed while joining: ${info.code} ${info.reason}`);
    });
    const timer = sleep(timeoutMs).then(() => {
      throw new Error(`${this.name}: join timed out`);
    });
    const [history] = await Promise.race([joined, failed, timer]);
    for (const m of history!.messages as { id: string }[]) this.history.add(m.id);
    this.sessions.push({ from: Date.now() });
  }

  private onMessage(m: { type: string } & Record<string, any>): void {
    switch (m.type) {
      case "CHAT_MESSAGE":
        if (!this.delivered.has(m.id)) this.delivered.set(m.id, Date.now());
        if (this.pending && this.transport === "ws" && m.user_id === this.user.id && m.message === this.pending.text) {
          this.pending.resolve({ outcome: "ack", id: m.id });
          this.pending = undefined;
        }
        return;
      case "ERROR":
        this.errors.push({ code: m.code, at: Date.now() });
        if (this.pending && this.transport === "ws") {
          this.pending.resolve({ outcome: "nack", code: m.code });
          this.pending = undefined;
        }
        return;
      case "ROOM_EXPIRED":
        this.expiredEvents += 1;
        return;
      case "PLAYBACK_STATE":
      case "SYNC_CORRECTION":
        this.playbackStates += 1;
        if (!this.lastPlayback || m.version >= this.lastPlayback.version)
          this.lastPlayback = { version: m.version, time: m.time, is_playing: m.is_playing };
        return;
    }
  }

  /**
   * Sends one chat message and waits for its acknowledgement or refusal (at most `timeoutMs`).
   * With `commandId` the server posts it at most once however often it is resent.
   */
  async chat(text: string, timeoutMs = 10_000, commandId?: string): Promise<SentMessage> {
    const payload = commandId === undefined ? { message: text } : { message: text, command_id: commandId };
    const sent: SentMessage = { text, sender: this.name, room: this.room, sentAt: Date.now() };
    if (!this.open) {
      Object.assign(sent, { outcome: "closed", settledAt: Date.now() });
      return sent;
    }
    let result: { outcome: Outcome; code?: string; id?: string };
    if (this.client.kind === "socket.io") {
      const client = this.client as ReturnType<typeof sioClient>;
      const closed = client.closed.then(() => ({ outcome: "closed" as const }));
      const acked = client.emitAck("CHAT_MESSAGE", payload, timeoutMs).then(
        (ack: any) =>
          ack?.ok ? { outcome: "ack" as const, id: ack.id as string } : { outcome: "nack" as const, code: String(ack?.error?.code) },
        () => ({ outcome: "timeout" as const }),
      );
      result = await Promise.race([acked, closed]);
    } else {
      result = await new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.pending = undefined;
          resolve({ outcome: "timeout" });
        }, timeoutMs);
        this.pending = {
          text,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        this.client.send({ type: "CHAT_MESSAGE", ...payload });
      });
    }
    return Object.assign(sent, result, { settledAt: Date.now() });
  }

  /** Sends a command with an ack on Socket.IO, or as a frame on raw (ERROR arrives separately). */
  async command(
    type: string,
    payload: Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<{ ok: boolean; code?: string; timeout?: boolean }> {
    if (!this.open) return { ok: false, code: "CLOSED" };
    if (this.client.kind === "socket.io") {
      try {
        const ack = await (this.client as ReturnType<typeof sioClient>).emitAck(type, payload, timeoutMs);
        return ack?.ok ? { ok: true } : { ok: false, code: String(ack?.error?.code) };
      } catch {
        return { ok: false, timeout: true };
      }
    }
    this.client.send({ type, ...payload });
    return { ok: true };
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => {});
  }

  /** True when the member was connected during the whole of [from, to]. */
  coveredBy(from: number, to: number): boolean {
    return this.sessions.some((s) => s.from <= from && (s.to === undefined || s.to >= to));
  }
}

/** A registered host with a public room, and approved guests. */
export async function makeRoom(api: Api, guests: number): Promise<{ code: string; roomId: string; host: Identity; guests: Identity[] }> {
  const host = await api.register();
  const room = await api.createRoom(host.token);
  const people: Identity[] = [];
  for (let i = 0; i < guests; i += 1) {
    const guest = await api.guest(`Guest${i}`);
    const joined = await api.join(guest.token, room.code);
    if (joined.status !== 200) throw new Error(`join failed: ${joined.status} ${joined.text}`);
    people.push({ id: guest.id, token: guest.token, display_name: guest.display_name });
  }
  return { code: room.code, roomId: room.room_id, host: { id: host.id, token: host.token }, guests: people };
}

/** Reads the ids among `ids` that are rows of chat_messages. */
export async function persistedIds(db: pg.Pool, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const { rows } = await db.query<{ id: string }>("SELECT id::text FROM chat_messages WHERE id = ANY($1::uuid[])", [
      ids.slice(i, i + 1000),
    ]);
    for (const r of rows) found.add(r.id);
  }
  return found;
}
