/**
 * The production entry points run from the compiled build with plain `node`, no tsx: the
 * server's build (tsconfig.build.json, what `npm run build` compiles after the packages) is
 * emitted once into a private folder, then the migration, the worker and createsuperuser run
 * from it. `npm test` already type-checks, so the emit skips checking (--noCheck) to stay fast.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const exec = promisify(execFile);

// Backend-independent: once, in the embedded project.
describe.runIf(process.env.STREAMIT_TEST_BACKEND !== "cluster")("the build's entry points under plain node", () => {
  // Inside the repo so that node_modules resolves as it does from dist/.
  const cache = path.join(root, "node_modules/.cache");
  let out: string;

  beforeAll(() => {
    mkdirSync(cache, { recursive: true });
    out = mkdtempSync(path.join(cache, "streamit-dist-"));
    const tsc = path.join(root, "node_modules/typescript/bin/tsc");
    execFileSync(
      process.execPath,
      [tsc, "-p", "tsconfig.build.json", "--outDir", out, "--noCheck", "--declaration", "false", "--sourceMap", "false"],
      {
        cwd: root,
        stdio: "pipe",
      },
    );
    // Under node_modules/ the root's "type": "module" does not reach: say it here.
    writeFileSync(path.join(out, "package.json"), '{ "type": "module" }\n');
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  const node = (script: string, args: string[], env: Record<string, string>) =>
    exec(process.execPath, [path.join(out, script), ...args], {
      cwd: out,
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", JWT_SECRET: "dist-test-secret-dist-test-secret-000001", ...env },
    }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
    );

  it("emits db/ and workers/ beside src/", () => {
    for (const file of [
      "src/main.js",
      "db/migrate.js",
      "workers/lifecycle-worker.js",
      "workers/createsuperuser.js",
      "workers/expire-rooms.js",
    ]) {
      expect(existsSync(path.join(out, file)), file).toBe(true);
    }
  });

  it("dist/db/migrate.js migrates an embedded database, then finds it up to date", async () => {
    const DATA_DIR = mkdtempSync(path.join(tmpdir(), "streamit-dist-"));
    const first = await node("db/migrate.js", [], { DATA_DIR });
    expect(first, first.output).toMatchObject({ code: 0 });
    expect(first.output).toMatch(/applied: 0001_initial[\s\S]*Applied \d+ migration\(s\)\./);
    const again = await node("db/migrate.js", [], { DATA_DIR });
    expect(again.output).toMatch(/Database is up to date\./);
    rmSync(DATA_DIR, { recursive: true, force: true });
  }, 60_000);

  it("dist/workers/lifecycle-worker.js loads and refuses to run outside cluster mode (78)", async () => {
    const run = await node("workers/lifecycle-worker.js", [], { DATA_DIR: mkdtempSync(path.join(tmpdir(), "streamit-dist-")) });
    expect(run.code, run.output).toBe(78);
    expect(run.output).toMatch(/serves cluster mode/);
  });

  it("dist/workers/createsuperuser.js loads and validates its arguments", async () => {
    const run = await node("workers/createsuperuser.js", ["--email", "not-an-email", "--password", "x"], {});
    expect(run.code, run.output).toBe(2);
    expect(run.output).toMatch(/valid --email/);
  });
});
