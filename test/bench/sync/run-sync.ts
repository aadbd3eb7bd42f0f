/**
 * The sync benchmark (`npm run bench -- sync`, or `npx tsx test/bench/sync/run-sync.ts`): how
 * closely real `<video>` players in headless Chromium follow the room's intended position.
 *
 * Per client kind (client-kinds.ts): a fresh StreamIt server, a room, a host driven from Node
 * (host-script.ts), an observer connected straight to the server (observer.ts → intended.ts),
 * and viewer pages, each behind its own latency proxy and with its own wall-clock skew. The
 * pages sample their players; at the end the samples are measured against the timeline
 * (metrics.ts), printed, and returned as rows for run.ts's report.
 *
 * BENCH_SYNC_KINDS (default: every kind), BENCH_SYNC_VIEWERS (1–4, default 4) and
 * BENCH_SYNC_SCALE (phase lengths × this, default 1: about 45 s per kind; below ~0.3 the phases
 * after a transition are shorter than its 1.5 s settle window and yield no steady samples).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { processUsage } from "../proc.js";
import { bundle } from "./bundle.js";
import { type ClientKind, clientKinds, startClient } from "./client-kinds.js";
import { runHostScript } from "./host-script.js";
import { IntendedTimeline } from "./intended.js";
import * as latencyProxy from "./latency-proxy.js";
import { ensureTestVideo } from "./media.js";
import { analyze, type Convergence, type SyncMetrics, type ViewerTrace } from "./metrics.js";
import { observe } from "./observer.js";
import { type PageServer, startPageServer } from "./page-server.js";
import { setupRoom } from "./room.js";
import type { Collected } from "./sampler.js";
import { startStreamIt } from "./streamit-server.js";

/** A viewer's network and clock: round trip through its proxy (± jitter) and wall-clock skew. */
export interface ViewerProfile {
  rttMs: number;
  jitter: number;
  skewMs: number;
}

export const VIEWERS: ViewerProfile[] = [
  { rttMs: 20, jitter: 0.3, skewMs: 3000 },
  { rttMs: 50, jitter: 0.3, skewMs: -2000 },
  { rttMs: 100, jitter: 0.3, skewMs: 1500 },
  { rttMs: 200, jitter: 0.3, skewMs: -3000 },
];

export interface SyncOptions {
  kinds: string[];
  viewers: ViewerProfile[];
  scale: number;
}

/** A row for run.ts's report: `result` holds numbers only (NaN where nothing was measured). */
export interface SyncRow {
  scenario: string;
  result: Record<string, number>;
  rssMb: number;
  cpuSeconds: number;
  metrics: SyncMetrics;
  notes: string[];
}

const CHROMIUM = process.env.BENCH_CHROMIUM ?? "/usr/bin/chromium";
const START_TIMEOUT_MS = 30_000;

export function optionsFromEnv(env = process.env): SyncOptions {
  const kinds = (env.BENCH_SYNC_KINDS ?? Object.keys(clientKinds).join(",")).split(",").filter(Boolean);
  for (const kind of kinds)
    if (!clientKinds[kind]) throw new Error(`unknown client kind ${kind}; known: ${Object.keys(clientKinds).join(", ")}`);
  const count = Math.min(VIEWERS.length, Math.max(1, Number(env.BENCH_SYNC_VIEWERS ?? VIEWERS.length)));
  return { kinds, viewers: VIEWERS.slice(0, count), scale: Number(env.BENCH_SYNC_SCALE ?? 1) };
}

export async function runSync(options: SyncOptions = optionsFromEnv()): Promise<SyncRow[]> {
  const pages = await startPageServer();
  let browser: Browser | undefined;
  try {
    pages.routes.set("/video.webm", { type: "video/webm", file: await ensureTestVideo() });
    pages.routes.set("/bundles/sampler.js", { type: "text/javascript", body: await bundle(here("sampler.ts"), "benchSampler") });
    const skewBundle = await bundle(here("clock-skew.ts"), "benchClockSkew");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
    });
    const rows: SyncRow[] = [];
    for (const name of options.kinds) {
      process.stderr.write(`\nsync ${name}: ${options.viewers.length} viewers, scale ${options.scale}\n`);
      rows.push(await runKind(name, clientKinds[name]!, options, { browser, pages, skewBundle }));
    }
    printReport(rows, options);
    return rows;
  } finally {
    await browser?.close();
    await pages.close();
  }
}

const here = (file: string) => path.join(import.meta.dirname, file);
const resultsDir = path.resolve(import.meta.dirname, "../results");

async function runKind(
  name: string,
  kind: ClientKind,
  options: SyncOptions,
  shared: { browser: Browser; pages: PageServer; skewBundle: string },
): Promise<SyncRow> {
  const { browser, pages, skewBundle } = shared;
  pages.routes.set(`/bundles/${name}.js`, { type: "text/javascript", body: await bundle(kind.entry, "benchClient") });
  pages.routes.set(`/pages/${name}.html`, {
    type: "text/html",
    body: [
      "<!doctype html><meta charset=utf-8><title>sync bench</title>",
      '<video id="player" muted playsinline preload="auto"></video>',
      '<script src="/bundles/sampler.js"></script><script>benchSampler.install()</script>',
      `<script src="/bundles/${name}.js"></script>`,
    ].join("\n"),
  });
  const server = await startStreamIt(pages.origin);
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const pageErrors: string[] = [];
  try {
    const viewerNames = options.viewers.map((v, i) => `viewer${i + 1}-${v.rttMs}ms`);
    const room = await setupRoom(server.url, ["observer", ...viewerNames]);
    const [observerToken, ...viewerTokens] = room.guestTokens;
    const observer = await observe(server.url, room.code, observerToken!);
    closers.push(() => observer.close());
    const target = { host: "127.0.0.1", port: Number(new URL(server.url).port) };

    const viewers = await Promise.all(
      options.viewers.map(async (profile, i) => {
        const proxy = await latencyProxy.start({ target, rttMs: profile.rttMs, jitter: profile.jitter });
        closers.push(() => proxy.close());
        const context = await browser.newContext();
        closers.push(() => context.close());
        await context.addInitScript({ content: `${skewBundle}\nbenchClockSkew.skewClock(${profile.skewMs});` });
        const page = await context.newPage();
        page.on("pageerror", (error) => pageErrors.push(`${viewerNames[i]}: ${error.message}`));
        await page.goto(`${pages.origin}/pages/${name}.html`);
        await withTimeout(
          startClient(kind, page, {
            serverUrl: `http://127.0.0.1:${proxy.port}`,
            code: room.code,
            token: viewerTokens[i]!,
            videoUrl: `${pages.origin}/video.webm`,
          }),
          `${viewerNames[i]} did not join`,
        );
        // Ready when the player could play: the script's PLAY then measures sync, not loading.
        await withTimeout(
          page.evaluate(
            "new Promise((resolve) => { const v = document.querySelector('video'); if (v.readyState >= 3) resolve(); else v.addEventListener('canplay', () => resolve(), { once: true }); })",
          ),
          `${viewerNames[i]}'s video never became playable`,
        );
        return { name: viewerNames[i]!, page };
      }),
    );

    const before = processUsage(server.pid);
    const script = await runHostScript(server.url, room.code, room.hostToken, options.scale);
    const after = processUsage(server.pid);
    const traces: ViewerTrace[] = await Promise.all(
      viewers.map(async ({ name: viewerName, page }) => ({
        name: viewerName,
        ...((await page.evaluate("benchSampler.collect()")) as Collected),
      })),
    );
    const timeline = IntendedTimeline.from(observer.states);
    const metrics = analyze(timeline, traces, { from: script.startedAt, to: script.endedAt });
    // The raw material, to plot or re-analyze a run (results/ is ignored by git).
    mkdirSync(resultsDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    writeFileSync(
      path.join(resultsDir, `sync-${name}-${stamp}.json`),
      JSON.stringify({ options, script, states: observer.states, viewers: traces, metrics }),
    );
    // A client kind may explain itself (sdk-client.ts: how early each state arrived).
    const diagnostics = await Promise.all(
      viewers.map(async ({ name: viewerName, page }) => {
        const text = await page.evaluate("typeof benchClient.diagnostics === 'function' ? benchClient.diagnostics() : ''");
        return text ? `${viewerName}: ${text}` : "";
      }),
    );
    const notes = [...script.notes, ...pageErrors.map((e) => `page error: ${e}`), ...diagnostics.filter(Boolean)];
    return {
      scenario: `sync-${name}`,
      result: resultOf(metrics, options.viewers.length),
      rssMb: Math.round(after.peakRssBytes / 2 ** 20),
      cpuSeconds: Math.round((after.cpuSeconds - before.cpuSeconds) * 10) / 10,
      metrics,
      notes,
    };
  } finally {
    for (const close of closers.reverse()) await close();
    await server.stop();
  }
}

function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The worst of several convergences (one per SEEK or rate change; the script has one each). */
function worst(list: Convergence[]): Convergence | undefined {
  if (list.length === 0) return undefined;
  return list.reduce((a, b) => {
    if (a.ms === null || b.ms === null) return a.ms === null ? a : b;
    if (a.withinMs !== b.withinMs) return a.withinMs > b.withinMs ? a : b;
    return a.ms >= b.ms ? a : b;
  });
}

/** NaN where nothing was measured; a convergence that never came is Infinity. */
function resultOf(m: SyncMetrics, clients: number): Record<string, number> {
  const seek = worst(m.seek);
  const rate = worst(m.rate);
  const ms = (c: Convergence | undefined) => (c === undefined ? Number.NaN : (c.ms ?? Number.POSITIVE_INFINITY));
  return {
    clients,
    p50: m.driftP50Ms,
    p95: m.driftP95Ms,
    p99: m.driftP99Ms,
    max: m.driftMaxMs,
    driftP95Rate1Ms: m.driftP95Rate1Ms,
    startSpreadMs: m.startSpreadsMs.length ? Math.max(...m.startSpreadsMs) : Number.NaN,
    seekConvergeMs: ms(seek),
    seekConvergeWithinMs: seek?.withinMs ?? Number.NaN,
    rateConvergeMs: ms(rate),
    rateConvergeWithinMs: rate?.withinMs ?? Number.NaN,
    correctionsPerMin: m.correctionsPerMinute,
  };
}

const convergenceText = (list: Convergence[]) =>
  list.length === 0 ? "skipped" : list.map((c) => (c.ms === null ? `never (±${c.withinMs})` : `${c.ms} (±${c.withinMs})`)).join(", ");

function printReport(rows: SyncRow[], options: SyncOptions): void {
  console.log("\nsync: |drift| in ms over steady playing (from 1.5 s after each transition); times in ms");
  console.table(
    rows.map(({ scenario, metrics: m }) => ({
      kind: scenario.replace(/^sync-/, ""),
      viewers: options.viewers.length,
      samples: m.steadySamples,
      "p50 |drift|": m.driftP50Ms,
      "p95 |drift|": m.driftP95Ms,
      "max |drift|": m.driftMaxMs,
      "p95 at rate 1": m.driftP95Rate1Ms,
      "start spread": m.startSpreadsMs.join(", "),
      "seek converge": convergenceText(m.seek),
      "rate converge": convergenceText(m.rate),
      "corrections/min": m.correctionsPerMinute,
    })),
  );
  for (const row of rows) {
    console.log(`\n${row.scenario} per viewer (drift signed: negative = behind)`);
    console.table(
      row.metrics.viewers.map((v, i) => ({
        viewer: v.name,
        "rtt ms": options.viewers[i]!.rttMs,
        "skew ms": options.viewers[i]!.skewMs,
        samples: v.steadySamples,
        "median drift": v.driftMedianMs,
        "p95 |drift|": v.driftP95Ms,
        "start lag per PLAY": v.startLagsMs.join(", "),
        corrections: v.corrections,
      })),
    );
    for (const note of row.notes) console.log(`  note: ${note}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  runSync().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
