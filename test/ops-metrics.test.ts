/**
 * /metrics for what this service does: connections by wire, rooms by state, joins and their
 * duration, messages in and out by type, refusals by code, broadcasts, approval waits, database
 * queries and errors, Redis errors; the worker's job counts on its own METRICS_PORT. Every
 * scrape passes `promtool check metrics` (Debian's prometheus package; .ci/run installs it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { backend, startApp, type TestApp, testEnv } from "./helpers/app.js";
import { rawClient, sioClient } from "./helpers/clients.js";
import { run } from "./helpers/cluster.js";
import { families, PROMTOOL, promtoolCheckMetrics, sample, scrape } from "./helpers/metrics.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ APPROVAL_WAIT_SECONDS: "5" });
});
afterAll(() => t?.stop());

const metrics = () => scrape(`${t.baseUrl}/metrics`);

describe("the web process's metrics", () => {
  it("count connections by wire, rooms by state, joins, messages in and out, refusals and broadcasts", async () => {
    const before = await metrics();
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const viewer = await t.api.guest("Viewer");
    expect((await t.api.join(viewer.token, room.code)).status).toBe(200);
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const polling = sioClient(t.baseUrl, room.code, viewer.token, { transports: ["polling"] });
    await polling.drainJoin();
    hostClient.send({ type: "CHAT_MESSAGE", message: "hello" });
    await polling.waitFor("CHAT_MESSAGE");
    hostClient.send({ type: "NO_SUCH_TYPE" });
    expect(await hostClient.waitFor("ERROR")).toMatchObject({ code: "UNKNOWN_EVENT" });
    const refused = rawClient(t.baseUrl, room.code, "not-a-token");
    expect((await refused.closed).code).toBe(4001);

    const after = await metrics();
    const grew = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(sample(after, "streamit_connections", { transport: "ws" })).toBeGreaterThanOrEqual(1);
    expect(sample(after, "streamit_connections", { transport: "socket.io/polling" })).toBeGreaterThanOrEqual(1);
    expect(sample(after, "streamit_rooms", { state: "LIVE" })).toBeGreaterThanOrEqual(1);
    expect(sample(after, "streamit_local_rooms")).toBeGreaterThanOrEqual(1);
    expect(grew("streamit_room_join_duration_seconds_count", { transport: "ws" })).toBe(1);
    expect(grew("streamit_room_join_duration_seconds_count", { transport: "socket.io" })).toBe(1);
    expect(grew("streamit_messages_received_total", { type: "CHAT_MESSAGE" })).toBe(1);
    expect(grew("streamit_messages_received_total", { type: "invalid" })).toBe(1);
    // The chat went to both members; the joins' snapshots are counted one per connection.
    expect(grew("streamit_messages_sent_total", { type: "CHAT_MESSAGE" })).toBe(2);
    expect(grew("streamit_messages_sent_total", { type: "CHAT_HISTORY" })).toBe(2);
    expect(grew("streamit_refusals_total", { stage: "message", code: "UNKNOWN_EVENT" })).toBe(1);
    expect(grew("streamit_refusals_total", { stage: "join", code: "INVALID_TOKEN" })).toBe(1);
    expect(grew("streamit_broadcast_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(grew("streamit_db_query_duration_seconds_count", { operation: "insert" })).toBeGreaterThanOrEqual(1);
    expect(grew("streamit_db_query_duration_seconds_count", { operation: "select" })).toBeGreaterThanOrEqual(1);
    await Promise.all([hostClient.close(), polling.close()]);
  });

  it("time approval waits by outcome and show the connections waiting", async () => {
    const before = await metrics();
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "APPROVAL" });
    const asker = await t.api.guest("Asker");
    expect((await t.api.join(asker.token, room.code)).body).toMatchObject({ status: "PENDING" });
    const waiting = rawClient(t.baseUrl, room.code, asker.token, { query: `?token=${encodeURIComponent(asker.token)}&wait=1` });
    expect(await waiting.next()).toMatchObject({ type: "JOIN_PENDING" });
    expect(sample(await metrics(), "streamit_approval_waiting_connections")).toBe(1);
    expect((await t.api.post("/api/rooms/reject/", { room_id: room.room_id, user_id: asker.id }, { token: host.token })).status).toBe(200);
    expect((await waiting.closed).code).toBe(4003);
    const after = await metrics();
    expect(sample(after, "streamit_approval_waiting_connections")).toBe(0);
    const waits = (text: string) => sample(text, "streamit_approval_wait_duration_seconds_count", { outcome: "rejected" });
    expect(waits(after) - waits(before)).toBe(1);
    const refusals = (text: string) => sample(text, "streamit_refusals_total", { stage: "join", code: "JOIN_REJECTED" });
    expect(refusals(after) - refusals(before)).toBe(1);
  });

  it("count failed database queries", async () => {
    const errors = async () => sample(await metrics(), "streamit_db_query_errors_total", { operation: "raw" });
    const before = await errors();
    await expect(sql`SELECT * FROM no_such_table`.execute(t.app.database.db)).rejects.toThrow();
    expect(await errors()).toBe(before + 1);
  });

  it.runIf(backend === "cluster")("count failed Redis commands by command, and not NOSCRIPT", async () => {
    const errors = async () => sample(await metrics(), "streamit_redis_command_errors_total", { command: "NO_SUCH_COMMAND" });
    const before = await errors();
    await expect(t.app.redis!.sendCommand(["NO_SUCH_COMMAND"])).rejects.toThrow();
    expect(await errors()).toBe(before + 1);
    // A script run the first time is an EVALSHA answered with NOSCRIPT, then an EVAL: no error.
    const all = async () => sample(await metrics(), "streamit_redis_command_errors_total");
    const total = await all();
    const script = `return ${Date.now()}`;
    await t.app.redis!.eval(script, { keys: [], arguments: [] });
    expect(await all()).toBe(total);
  });

  it.runIf(PROMTOOL)("pass promtool check metrics, which does refuse a badly named metric", async () => {
    expect(promtoolCheckMetrics(await metrics())).toEqual({ status: 0, output: "" });
    const bad = "# HELP requests Requests\n# TYPE requests counter\nrequests 1\n";
    const refused = promtoolCheckMetrics(bad);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/_total/);
  });
});

describe("METRICS_PORT", () => {
  it("serves /metrics on its own port only: the public port says 404", async () => {
    const other = await startApp({ METRICS_PORT: "0" });
    try {
      const port = other.app.metrics.port;
      expect(port).toBeGreaterThan(0);
      expect((await fetch(`${other.baseUrl}/metrics`)).status).toBe(404);
      const text = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(text).toMatch(/^# HELP streamit_connections /m);
      expect(text).toMatch(/^# HELP http_requests_total /m);
      expect((await fetch(`http://127.0.0.1:${port}/api/health/`)).status).toBe(404);
    } finally {
      await other.stop();
    }
  });
});

describe.runIf(backend === "cluster")("the worker's metrics", () => {
  it("serves its BullMQ job counts, queries and process metrics on METRICS_PORT, promtool-clean", async () => {
    const { env } = testEnv({ ...envOf(t), METRICS_PORT: "0", LOG_LEVEL: "info", LOG_FORMAT: "json" });
    const worker = await run(
      process.execPath,
      ["--import", "tsx", "workers/lifecycle-worker.ts"],
      env,
      /"metrics_port":(\d+)[^\n]*"msg":"lifecycle worker started"/,
    );
    try {
      const url = `http://127.0.0.1:${worker.ready![1]}/metrics`;
      // A host leaving starts the room's grace: a delayed expire job.
      const host = await t.api.register();
      const room = await t.api.createRoom(host.token);
      const client = rawClient(t.baseUrl, room.code, host.token);
      await client.drainJoin();
      await client.close();
      await vi.waitFor(
        async () =>
          expect(sample(await scrape(url), "streamit_jobs", { queue: "room-lifecycle", state: "delayed" })).toBeGreaterThanOrEqual(1),
        {
          timeout: 10_000,
          interval: 100,
        },
      );
      const text = await scrape(url);
      expect(sample(text, "streamit_db_query_duration_seconds_count")).toBeGreaterThan(0);
      // Every metric the dashboard and the alerts read is one a web process or the worker exports.
      const exported = new Set([...families(text), ...families(await metrics()), "up"]);
      expect(referencedMetrics().filter((name) => !exported.has(name))).toEqual([]);
      expect(text).toMatch(/^# TYPE streamit_jobs_finished_total counter/m);
      expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge/m);
      if (PROMTOOL) expect(promtoolCheckMetrics(text)).toEqual({ status: 0, output: "" });
    } finally {
      worker.kill();
      await worker.exited;
    }
  }, 60_000);
});

/** The database and Redis settings of the running test app, for a process of the same cluster. */
function envOf(app: TestApp): Record<string, string | undefined> {
  const { config } = app;
  return {
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    DATABASE_SCHEMA: config.database.kind === "postgres" ? config.database.schema : undefined,
    REDIS_URL: config.REDIS_URL,
    REDIS_PREFIX: config.REDIS_PREFIX,
  };
}

const MONITORING = path.resolve(import.meta.dirname, "../docs/monitoring");
const dashboard = JSON.parse(readFileSync(path.join(MONITORING, "grafana-dashboard.json"), "utf8")) as {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
};
const dashboardExprs = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
);
const alertExprs = [...readFileSync(path.join(MONITORING, "alerts.yml"), "utf8").matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);

/** The metric names the dashboard and the alert rules read (histogram series by their family). */
function referencedMetrics(): string[] {
  const names = new Set<string>();
  for (const expr of [...dashboardExprs.map((d) => d.expr), ...alertExprs]) {
    for (const [name] of expr.matchAll(/\b(?:streamit|nodejs|process|http)_[a-z0-9_]+|\bup\b/g)) {
      names.add(name.replace(/_(bucket|count|sum)$/, ""));
    }
  }
  return [...names].sort();
}

const promtool = (...args: string[]) => {
  const run = spawnSync(PROMTOOL!, args, { cwd: MONITORING, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
};

describe.runIf(PROMTOOL)("docs/monitoring: the alert rules, their unit tests, the scrape config and the dashboard", () => {
  it("the alert rules pass promtool check rules and their unit tests (which catch a wrong threshold)", () => {
    expect(promtool("check", "rules", "alerts.yml")).toMatchObject({ status: 0 });
    expect(promtool("test", "rules", "alerts.test.yml")).toMatchObject({ status: 0 });
    // The unit tests can fail: with the join threshold raised past the joins' 5 s, no alert fires.
    const dir = mkdtempSync(path.join(tmpdir(), "streamit-alerts-"));
    try {
      writeFileSync(
        path.join(dir, "alerts.yml"),
        readFileSync(path.join(MONITORING, "alerts.yml"), "utf8").replace("bucket[5m]))) > 2", "bucket[5m]))) > 6"),
      );
      writeFileSync(path.join(dir, "alerts.test.yml"), readFileSync(path.join(MONITORING, "alerts.test.yml"), "utf8"));
      const broken = spawnSync(PROMTOOL!, ["test", "rules", "alerts.test.yml"], { cwd: dir, encoding: "utf8" });
      expect(broken.status).not.toBe(0);
      expect(broken.stdout + broken.stderr).toMatch(/StreamItJoinsSlow/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the example scrape config passes promtool check config", () => {
    expect(promtool("check", "config", "prometheus.yml")).toMatchObject({ status: 0 });
  });

  it("every dashboard query is valid PromQL (checked as recording rules) and names only known metrics", () => {
    expect(dashboardExprs.length).toBeGreaterThan(15);
    const dir = mkdtempSync(path.join(tmpdir(), "streamit-dashboard-"));
    try {
      // Grafana's variables become what they stand for; each query becomes a recording rule.
      const rules = dashboardExprs.map(({ expr }, i) => {
        const promql = expr.replaceAll("$__rate_interval", "5m").replaceAll("$job", ".+");
        return `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(promql)}`;
      });
      writeFileSync(path.join(dir, "rules.yml"), `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
      const checked = spawnSync(PROMTOOL!, ["check", "rules", "rules.yml"], { cwd: dir, encoding: "utf8" });
      expect(checked.stdout + checked.stderr).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
      // And a broken query is refused, so the check above means something.
      writeFileSync(
        path.join(dir, "bad.yml"),
        'groups:\n  - name: bad\n    rules:\n      - record: bad:query\n        expr: "sum(rate(x[5m])"\n',
      );
      expect(spawnSync(PROMTOOL!, ["check", "rules", "bad.yml"], { cwd: dir }).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const web = referencedMetrics().filter((name) => !/^streamit_jobs/.test(name) && name !== "up");
    return metrics().then((text) => {
      const exported = families(text);
      // The worker's job metrics are checked against a running worker (cluster backend, above).
      expect(web.filter((name) => !exported.has(name))).toEqual([]);
    });
  });
});
