/**
 * `npm run bench [-- scenario ...]`: starts the servers under test (StreamIt embedded, StreamIt on
 * PostgreSQL, a two-process StreamIt cluster on a private redis-server, and the bare ws /
 * Socket.IO baselines), drives each from a separate load-generator process, prints a table, and
 * writes JSON and an SVG chart under test/bench/results/ (ignored by git).
 *
 * Scenarios (default: all but capacity-embedded and cluster-sio): baseline-ws, baseline-sio,
 * fanout-ws, fanout-ws-sync, fanout-sio, fanout-ws-pg, cluster-ws, cluster-sio, join-storm, join-storm-half, chat, chat-ids,
 * capacity (PostgreSQL), capacity-embedded (PGlite), and sync (opt-in: real <video> players in
 * headless Chromium following a host's script, test/bench/sync/run-sync.ts; one row per client
 * kind, p50/p95/p99/max = steady |drift| in ms). A scenario's baseline runs first.
 *
 * BENCH_VIEWERS, BENCH_ROOMS, BENCH_SECONDS and BENCH_CAPACITY_ROOMS shrink the runs;
 * BENCH_REPEAT=3 runs each scenario three times and reports medians; BENCH_PROFILE=1 profiles the
 * servers' CPU during each scenario's measured phase (profiler.ts) and prints where the time went
 * (profile.ts); the .cpuprofile files open in Chrome DevTools.
 * BENCH_DATABASE_URL picks the PostgreSQL (default postgres://postgres@127.0.0.1:5432/test).
 * BENCH_MERGE=<results.json>[,...] adds the rows of earlier runs to this run's table and chart
 * (`npm run bench -- --report-only` with BENCH_MERGE just combines them).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import path from "node:path";
import pg from "pg";
import * as vega from "vega";
import { compile } from "vega-lite";
import { startRedis } from "../helpers/cluster.js";
import type { LoadOptions } from "./loadgen.js";
import { processUsage } from "./proc.js";
import { type ProfileSummary, summarizeProfile } from "./profile.js";
import { startProcess, stopProcess } from "./server-process.js";

const root = path.resolve(import.meta.dirname, "../..");
const resultsDir = path.join(root, "test/bench/results");
const viewers = Number(process.env.BENCH_VIEWERS ?? 1000);
const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const profiling = process.env.BENCH_PROFILE === "1";
const postgresUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

type Kind = "streamit" | "streamit-pg" | "streamit-cluster" | "ws-baseline" | "sio-baseline";

/** The servers under test for one scenario run: one process, or two sharing Redis. */
interface Deployment {
  baseUrls: string[];
  pids: number[];
  stop(): Promise<void>;
}

async function deploy(kind: Kind, profileDir?: string): Promise<Deployment> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-01",
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-bench-")),
    DATABASE_URL: "memory://",
    TRUST_PROXY: "true",
    // The load generator opens thousands of sockets from loopback.
    SOCKETS_PER_CLIENT: "1000000",
    SOCKET_CONNECTS_PER_MINUTE: "1000000",
    // Sign-ups of thousands of users (PGlite runs on the event loop) must not be shed as overload.
    EVENT_LOOP_DELAY_MAX_MS: "0",
  };
  delete env.REDIS_URL;
  if (kind === "ws-baseline" || kind === "sio-baseline" || kind === "streamit") {
    const script = kind === "streamit" ? "src/main.ts" : `test/bench/servers/${kind}.ts`;
    const server = await startProcess(script, env, profileDir);
    return { baseUrls: [server.baseUrl], pids: [server.child.pid!], stop: () => stopProcess(server.child) };
  }
  // PostgreSQL in a schema of its own (dropped afterwards); a private redis-server for a cluster.
  const schema = `bench_${Date.now()}`;
  Object.assign(env, { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema });
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  if (kind === "streamit-cluster") {
    redis = await startRedis();
    Object.assign(env, { REDIS_URL: `redis://127.0.0.1:${redis.port}`, REDIS_PREFIX: "bench:" });
  }
  const count = kind === "streamit-cluster" ? 2 : 1;
  const servers: Awaited<ReturnType<typeof startProcess>>[] = [];
  // One after the other: the first one migrates the schema.
  for (let i = 0; i < count; i += 1) servers.push(await startProcess("src/main.ts", env, profileDir));
  return {
    baseUrls: servers.map((s) => s.baseUrl),
    pids: servers.map((s) => s.child.pid!),
    async stop() {
      await Promise.all(servers.map((s) => stopProcess(s.child)));
      redis?.kill("SIGKILL");
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

/** Current and peak resident memory (MB) and CPU seconds of a server under test. */
function usage(pid: number): { rssMb: number; peakRssMb: number; cpuSeconds: number } {
  const u = processUsage(pid);
  return {
    rssMb: Math.round(u.rssBytes / 2 ** 20),
    peakRssMb: Math.round(u.peakRssBytes / 2 ** 20),
    cpuSeconds: Math.round(u.cpuSeconds * 10) / 10,
  };
}

function runLoad(options: LoadOptions): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "test/bench/loadgen.ts", JSON.stringify(options)], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    // Exit 3: the run completed but some client was closed with 1011; its row is kept and the bench fails at the end.
    child.once("exit", (code) =>
      code === 0 || code === 3 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!)) : reject(new Error(`loadgen exited ${code}`)),
    );
  });
}

interface Row {
  scenario: string;
  baseline?: string;
  result: Record<string, number>;
  rssMb: number;
  cpuSeconds: number;
  /** Every repetition, when BENCH_REPEAT > 1 (the row itself holds the medians). */
  runs?: Record<string, number>[];
  profile?: ProfileSummary;
}

const SCENARIOS: Record<string, { server: Kind; load: Omit<LoadOptions, "baseUrls" | "serverPids">; baseline?: string }> = {
  "baseline-ws": { server: "ws-baseline", load: { scenario: "fanout", target: "ws-baseline", transport: "ws", viewers } },
  "baseline-sio": { server: "sio-baseline", load: { scenario: "fanout", target: "sio-baseline", transport: "sio", viewers } },
  "fanout-ws": { server: "streamit", load: { scenario: "fanout", target: "streamit", transport: "ws", viewers }, baseline: "baseline-ws" },
  "fanout-ws-sync": {
    server: "streamit",
    load: { scenario: "fanout", target: "streamit", transport: "ws", viewers, syncReports: true },
    baseline: "fanout-ws",
  },
  "fanout-sio": {
    server: "streamit",
    load: { scenario: "fanout", target: "streamit", transport: "sio", viewers },
    baseline: "baseline-sio",
  },
  "join-storm": { server: "streamit", load: { scenario: "join-storm", target: "streamit", transport: "ws", viewers } },
  "join-storm-half": {
    server: "streamit",
    load: { scenario: "join-storm", target: "streamit", transport: "ws", viewers: Math.round(viewers / 2) },
  },
  chat: {
    server: "streamit",
    load: {
      scenario: "chat",
      target: "streamit",
      transport: "ws",
      rooms: Number(process.env.BENCH_ROOMS ?? 50),
      usersPerRoom: 20,
      durationSeconds: Number(process.env.BENCH_SECONDS ?? 30),
    },
  },
  /** The same chat load, every message with a command_id (claim + derived id): against chat. */
  "chat-ids": {
    server: "streamit",
    load: {
      scenario: "chat",
      target: "streamit",
      transport: "ws",
      rooms: Number(process.env.BENCH_ROOMS ?? 50),
      usersPerRoom: 20,
      durationSeconds: Number(process.env.BENCH_SECONDS ?? 30),
      commandIds: true,
    },
    baseline: "chat",
  },
  "capacity-embedded": {
    server: "streamit",
    load: {
      scenario: "capacity",
      target: "streamit",
      transport: "ws",
      rooms: Number(process.env.BENCH_CAPACITY_ROOMS ?? 100),
      usersPerRoom: 100,
      durationSeconds: Number(process.env.BENCH_SECONDS ?? 30),
    },
  },
  capacity: {
    server: "streamit-pg",
    load: {
      scenario: "capacity",
      target: "streamit",
      transport: "ws",
      rooms: Number(process.env.BENCH_CAPACITY_ROOMS ?? 100),
      usersPerRoom: 100,
      durationSeconds: Number(process.env.BENCH_SECONDS ?? 30),
    },
  },
  "fanout-ws-pg": {
    server: "streamit-pg",
    load: { scenario: "fanout", target: "streamit", transport: "ws", viewers },
    baseline: "baseline-ws",
  },
  "cluster-ws": {
    server: "streamit-cluster",
    load: { scenario: "fanout", target: "streamit", transport: "ws", viewers },
    baseline: "fanout-ws-pg",
  },
  "cluster-sio": {
    server: "streamit-cluster",
    load: { scenario: "fanout", target: "streamit", transport: "sio", viewers },
    baseline: "fanout-sio",
  },
};

/** The default run; the others are opt-in by name. */
const DEFAULT = [
  "baseline-ws",
  "baseline-sio",
  "fanout-ws",
  "fanout-sio",
  "fanout-ws-pg",
  "cluster-ws",
  "join-storm",
  "join-storm-half",
  "chat",
  "capacity",
];

const profileFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : []);

const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : Number.NaN;
};

async function runOnce(name: string): Promise<Omit<Row, "scenario">> {
  const spec = SCENARIOS[name]!;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const profileDir = profiling ? path.join(resultsDir, "profiles", `${stamp}-${name}`) : undefined;
  const deployment = await deploy(spec.server, profileDir);
  let result: Record<string, number>;
  let rssMb: number;
  let cpuSeconds: number;
  try {
    const before = deployment.pids.map(usage);
    result = await runLoad({ ...spec.load, baseUrls: deployment.baseUrls, serverPids: deployment.pids, profile: Boolean(profileDir) });
    // The servers write their profiles on the load generator's second SIGUSR2.
    for (let waited = 0; profileDir && waited < 100 && profileFiles(profileDir).length < deployment.pids.length; waited += 1) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = deployment.pids.map(usage);
    rssMb = Math.max(...after.map((u) => u.peakRssMb));
    cpuSeconds = Math.round(after.reduce((sum, u, i) => sum + u.cpuSeconds - before[i]!.cpuSeconds, 0) * 10) / 10;
  } finally {
    await deployment.stop();
  }
  let profile: ProfileSummary | undefined;
  if (profileDir) {
    // The first server's (the host's, in a cluster).
    const file = profileFiles(profileDir).find((f) => f === `${deployment.pids[0]}.cpuprofile`);
    if (file) {
      profile = summarizeProfile(path.join(profileDir, file));
      process.stderr.write(`  profile: ${path.relative(root, path.join(profileDir, file))} (busy ${profile.busyMs} ms)\n`);
      console.table(profile.owners.slice(0, 10));
      console.table(profile.functions.slice(0, 12));
    }
  }
  return { ...(spec.baseline ? { baseline: spec.baseline } : {}), result, rssMb, cpuSeconds, ...(profile ? { profile } : {}) };
}

async function main(): Promise<void> {
  if (process.argv.includes("--report-only")) return report([]); // with BENCH_MERGE
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const names = wanted.length ? wanted : [...DEFAULT];
  for (const name of names) {
    if (!SCENARIOS[name] && name !== "sync") throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(", ")}, sync`);
  }
  // Baselines run first so that ratios can be computed in the same invocation.
  for (let i = 0; i < names.length; i += 1) {
    const baseline = SCENARIOS[names[i]!]?.baseline;
    if (baseline && !names.includes(baseline)) {
      names.splice(i, 0, baseline);
      i = -1;
    }
  }
  const rows: Row[] = [];
  for (const name of names) {
    if (name === "sync") {
      // Its own servers and browser; loaded on demand (Playwright, esbuild) and not repeated.
      const { runSync } = await import("./sync/run-sync.js");
      for (const { scenario, result, rssMb, cpuSeconds } of await runSync()) rows.push({ scenario, result, rssMb, cpuSeconds });
      continue;
    }
    const runs: Omit<Row, "scenario">[] = [];
    for (let k = 1; k <= repeat; k += 1) {
      process.stderr.write(`\n${name}${repeat > 1 ? ` (run ${k}/${repeat})` : ""}\n`);
      runs.push(await runOnce(name));
    }
    const keys = Object.keys(runs[0]!.result);
    rows.push({
      scenario: name,
      ...(runs[0]!.baseline ? { baseline: runs[0]!.baseline } : {}),
      result: Object.fromEntries(keys.map((key) => [key, median(runs.map((r) => r.result[key]!))])),
      rssMb: median(runs.map((r) => r.rssMb)),
      cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
      ...(repeat > 1 ? { runs: runs.map((r) => r.result) } : {}),
      ...(runs[0]!.profile ? { profile: runs[0]!.profile } : {}),
    });
  }
  await report(rows);
  const failed = rows.filter((r) => (r.result.closed1011 ?? 0) > 0 || (r.runs ?? []).some((run) => (run.closed1011 ?? 0) > 0));
  if (failed.length > 0) {
    console.error(`\nBENCH FAILED: clients closed with 1011 (internal error) in ${failed.map((r) => r.scenario).join(", ")}`);
    process.exitCode = 1;
  }
}

async function report(measured: Row[]): Promise<void> {
  // BENCH_MERGE=a.json,b.json: rows of earlier runs (a split run) join this report.
  // A later file's row replaces an earlier one of the same scenario; this run's rows replace all.
  const merged = new Map<string, Row>();
  for (const file of (process.env.BENCH_MERGE ?? "").split(",").filter(Boolean)) {
    for (const row of (JSON.parse(readFileSync(file, "utf8")) as { rows: Row[] }).rows) merged.set(row.scenario, row);
  }
  for (const row of measured) merged.set(row.scenario, row);
  const rows = [...merged.values()];
  const byName = new Map(rows.map((r) => [r.scenario, r]));
  const ratio = (row: Row, key: "p50" | "p99") => {
    const base = row.baseline ? byName.get(row.baseline)?.result[key] : undefined;
    return base ? `${(row.result[key]! / base).toFixed(2)}×` : "";
  };
  const table = rows.map((r) => ({
    scenario: r.scenario,
    clients: r.result.clients,
    "p50 ms": r.result.p50,
    "p99 ms": r.result.p99,
    "max ms": r.result.max,
    throughput: r.result.throughput ?? "",
    "server RSS MB": r.rssMb,
    "server CPU s": r.cpuSeconds,
    "p50 ratio": ratio(r, "p50"),
    "p99 ratio": ratio(r, "p99"),
    extra: Object.entries(r.result)
      .filter(([k]) =>
        [
          "totalSeconds",
          "rosterMessages",
          "rosterBytesPerJoiner",
          "lostAcked",
          "acked",
          "count",
          "expected",
          "bytesPerConnection",
          "eventLoopP99Ms",
          "cpuPercent",
          "rssBeforeMb",
          "rssConnectedMb",
          "settled",
          "closedByServer",
          "closed1011",
          "syncReports",
          "startSpreadMs",
          "seekConvergeMs",
          "rateConvergeMs",
          "correctionsPerMin",
        ].includes(k),
      )
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
  }));
  console.log();
  console.table(table);

  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30) };
  writeFileSync(path.join(resultsDir, `${stamp}.json`), JSON.stringify({ machine, rows }, null, 2));
  // Drift is not latency: the sync rows get a chart of their own.
  const isSync = (r: Row) => r.scenario.startsWith("sync-");
  const svg = await chart(rows.filter((r) => !isSync(r)));
  writeFileSync(path.join(resultsDir, `${stamp}.svg`), svg);
  writeFileSync(path.join(resultsDir, "latest.json"), JSON.stringify({ machine, rows }, null, 2));
  writeFileSync(path.join(resultsDir, "latest.svg"), svg);
  if (rows.some(isSync)) {
    const sync = await syncChart(rows.filter(isSync));
    writeFileSync(path.join(resultsDir, `${stamp}-sync.svg`), sync);
    writeFileSync(path.join(resultsDir, "latest-sync.svg"), sync);
  }
  console.log(`results: test/bench/results/${stamp}.json and .svg`);
}

/** Steady-state |drift| per client kind (log scale: the baseline is two orders off). */
function syncChart(rows: Row[]): Promise<string> {
  const values = rows.flatMap((r) =>
    (["p50", "p95", "max"] as const).map((q) => ({
      kind: r.scenario.replace(/^sync-/, ""),
      statistic: q,
      ms: Math.max(1, r.result[q] ?? 1),
    })),
  );
  const spec = compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Steady-state |drift| from the room, Chromium <video> players (ms, log scale, lower is better)",
    data: { values },
    mark: "bar",
    encoding: {
      x: { field: "kind", type: "nominal", title: "client", axis: { labelAngle: 0 } },
      xOffset: { field: "statistic" },
      y: { field: "ms", type: "quantitative", title: "|drift| (ms)", scale: { type: "log" } },
      color: { field: "statistic", type: "nominal" },
    },
    width: 360,
    height: 260,
  }).spec;
  return new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
}

/** Latency percentiles per scenario, grouped bars, rendered to SVG by Vega-Lite. */
function chart(rows: Row[]): Promise<string> {
  const values = rows.flatMap((r) =>
    (["p50", "p95", "p99"] as const).map((q) => ({ scenario: r.scenario, percentile: q, ms: r.result[q] ?? 0 })),
  );
  const spec = compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "StreamIt latency by scenario (ms, lower is better)",
    data: { values },
    mark: "bar",
    encoding: {
      x: { field: "scenario", type: "nominal", axis: { labelAngle: -30 } },
      xOffset: { field: "percentile" },
      y: { field: "ms", type: "quantitative", title: "latency (ms)" },
      color: { field: "percentile", type: "nominal" },
    },
    width: 520,
    height: 260,
  }).spec;
  return new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
