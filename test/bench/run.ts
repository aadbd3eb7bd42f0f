/**
 * `npm run bench [-- scenario ...]`: starts the servers under test (StreamIt embedded, and the
 * bare ws / Socket.IO baselines), drives each from a separate load-generator process, prints a
 * table, and writes JSON and an SVG chart under test/bench/results/ (ignored by git).
 *
 * Scenarios: baseline-ws, baseline-sio, fanout-ws, fanout-sio, join-storm, chat (default: all).
 * Sizes can be shrunk for a quick look: BENCH_VIEWERS=200 npm run bench -- fanout-ws
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import path from "node:path";
import * as vega from "vega";
import { compile } from "vega-lite";
import { connect } from "node:net";
import { freePort } from "../helpers/cluster.js";
import type { LoadOptions } from "./loadgen.js";

const root = path.resolve(import.meta.dirname, "../..");
const resultsDir = path.join(root, "test/bench/results");
const viewers = Number(process.env.BENCH_VIEWERS ?? 1000);

interface Server {
  baseUrl: string;
  child: ChildProcess;
}

async function startServer(kind: "streamit" | "ws-baseline" | "sio-baseline"): Promise<Server> {
  const script = kind === "streamit" ? "src/main.ts" : `test/bench/servers/${kind}.ts`;
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret-01",
    DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-bench-")),
    DATABASE_URL: "memory://",
    TRUST_PROXY: "true",
  };
  delete (env as Record<string, string | undefined>).REDIS_URL;
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, env, stdio: ["ignore", "ignore", "inherit"] });
  // Ready when it accepts TCP connections.
  const deadline = Date.now() + 60_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${kind} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { baseUrl: `http://127.0.0.1:${port}`, child };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/** Peak resident memory (VmHWM) and CPU seconds of a process, from /proc. */
function usage(pid: number): { rssMb: number; cpuSeconds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const ticks = Number(stat[11]) + Number(stat[12]);
    return { rssMb: Math.round(hwm / 1024), cpuSeconds: Math.round((ticks / 100) * 10) / 10 };
  } catch {
    return { rssMb: Number.NaN, cpuSeconds: Number.NaN };
  }
}

function runLoad(options: LoadOptions): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/bench/loadgen.ts", JSON.stringify(options)], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!)) : reject(new Error(`loadgen exited ${code}`))));
  });
}

interface Row {
  scenario: string;
  baseline?: string;
  result: Record<string, number>;
  rssMb: number;
  cpuSeconds: number;
}

const SCENARIOS: Record<string, { server: Parameters<typeof startServer>[0]; load: Omit<LoadOptions, "baseUrl">; baseline?: string }> = {
  "baseline-ws": { server: "ws-baseline", load: { scenario: "fanout", target: "ws-baseline", transport: "ws", viewers } },
  "baseline-sio": { server: "sio-baseline", load: { scenario: "fanout", target: "sio-baseline", transport: "sio", viewers } },
  "fanout-ws": { server: "streamit", load: { scenario: "fanout", target: "streamit", transport: "ws", viewers }, baseline: "baseline-ws" },
  "fanout-sio": { server: "streamit", load: { scenario: "fanout", target: "streamit", transport: "sio", viewers }, baseline: "baseline-sio" },
  "join-storm": { server: "streamit", load: { scenario: "join-storm", target: "streamit", transport: "ws", viewers } },
  "join-storm-half": { server: "streamit", load: { scenario: "join-storm", target: "streamit", transport: "ws", viewers: Math.round(viewers / 2) } },
  chat: {
    server: "streamit",
    load: { scenario: "chat", target: "streamit", transport: "ws", rooms: Number(process.env.BENCH_ROOMS ?? 50), usersPerRoom: 20, durationSeconds: Number(process.env.BENCH_SECONDS ?? 30) },
  },
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const names = wanted.length ? wanted : Object.keys(SCENARIOS);
  for (const name of names) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(", ")}`);
  // Baselines run first so that ratios can be computed in the same invocation.
  for (const name of [...names]) {
    const baseline = SCENARIOS[name]!.baseline;
    if (baseline && !names.includes(baseline)) names.unshift(baseline);
  }
  const rows: Row[] = [];
  for (const name of names) {
    const spec = SCENARIOS[name]!;
    process.stderr.write(`\n${name}\n`);
    const server = await startServer(spec.server);
    try {
      const before = usage(server.child.pid!);
      const result = await runLoad({ ...spec.load, baseUrl: server.baseUrl });
      const after = usage(server.child.pid!);
      rows.push({ scenario: name, ...(spec.baseline ? { baseline: spec.baseline } : {}), result, rssMb: after.rssMb, cpuSeconds: Math.round((after.cpuSeconds - before.cpuSeconds) * 10) / 10 });
    } finally {
      server.child.kill("SIGKILL");
    }
  }
  await report(rows);
}

async function report(rows: Row[]): Promise<void> {
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
      .filter(([k]) => ["totalSeconds", "rosterMessages", "rosterBytesPerJoiner", "lostAcked", "acked", "count", "expected"].includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
  }));
  console.log();
  console.table(table);

  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30) };
  writeFileSync(path.join(resultsDir, `${stamp}.json`), JSON.stringify({ machine, rows }, null, 2));
  const svg = await chart(rows);
  writeFileSync(path.join(resultsDir, `${stamp}.svg`), svg);
  writeFileSync(path.join(resultsDir, "latest.json"), JSON.stringify({ machine, rows }, null, 2));
  writeFileSync(path.join(resultsDir, "latest.svg"), svg);
  console.log(`results: test/bench/results/${stamp}.json and .svg`);
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
