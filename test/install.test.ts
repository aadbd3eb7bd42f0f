/**
 * A fresh install with install scripts disabled gives a working server (issue 17, item 8):
 * the repository's package.json and package-lock.json go into a temp folder, `npm ci
 * --ignore-scripts --omit=dev` installs them, and there plain Node hashes and verifies with the
 * locked password library (a native crash, like argon2 0.45's prebuild on Node 20, fails the test),
 * then the server starts from that folder and signs an account up and in.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Api } from "./helpers/api.js";
import { backend } from "./helpers/app.js";
import { LISTENING, type Proc, run as runUntil, webInstance } from "./helpers/cluster.js";
import { OLD_HASH } from "./helpers/old-hashes.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..");
const WORKSPACES = ["protocol", "client", "demo"] as const;

// Packages whose install script may be skipped: each still works without it (msgpackr-extract is
// an optional speedup that msgpackr falls back from). A new one must be checked the same way
// before it joins the list.
const SCRIPTS_SKIPPED_SAFELY = ["node_modules/msgpackr-extract"];

let work: string;
let server: Proc | undefined;

// Once is enough: the install does not depend on the backend the suite runs against.
describe.skipIf(backend !== "embedded")("a fresh `npm ci --ignore-scripts`", () => {
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "streamit-install-"));
    for (const file of ["package.json", "package-lock.json", "tsconfig.json"]) cpSync(path.join(root, file), path.join(work, file));
    for (const dir of ["src", "db"]) cpSync(path.join(root, dir), path.join(work, dir), { recursive: true });
    // The workspaces as `npm run build:packages` (run by `npm test` first) left them.
    for (const name of WORKSPACES) {
      const dir = path.join(root, "packages", name);
      if (!existsSync(path.join(dir, "dist"))) throw new Error(`packages/${name}/dist is missing: run npm run build:packages`);
      cpSync(path.join(dir, "package.json"), path.join(work, "packages", name, "package.json"));
      cpSync(path.join(dir, "dist"), path.join(work, "packages", name, "dist"), { recursive: true });
    }
    await run("npm", ["ci", "--ignore-scripts", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: work });
    // The server as `npm run build` compiles it (production runs dist/, tsx is a dev dependency);
    // `npm test` type-checks already, so the emit skips checking to stay fast.
    const tsc = path.join(root, "node_modules/typescript/bin/tsc");
    const emit = [
      "-p",
      "tsconfig.build.json",
      "--outDir",
      path.join(work, "dist"),
      "--noCheck",
      "--declaration",
      "false",
      "--sourceMap",
      "false",
    ];
    await run(process.execPath, [tsc, ...emit], { cwd: root });
  }, 180_000);

  afterAll(async () => {
    server?.kill();
    await server?.exited;
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("locks no other package that needs its install script", () => {
    const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }>;
    };
    const scripted = Object.entries(lock.packages)
      .filter(([name, p]) => p.hasInstallScript && !p.dev && name.startsWith("node_modules/"))
      .map(([name]) => name);
    expect(scripted.sort()).toEqual(SCRIPTS_SKIPPED_SAFELY);
  });

  it("hashes and verifies passwords with plain Node, and still verifies an old argon2 hash", async () => {
    const check = path.join(work, "password-check.mjs");
    writeFileSync(
      check,
      `import argon2 from "@node-rs/argon2";
const [oldHash, oldPassword] = process.argv.slice(2);
const fresh = await argon2.hash("a fresh password", { memoryCost: 19456, timeCost: 2, parallelism: 1 });
const ok = (await argon2.verify(fresh, "a fresh password")) && !(await argon2.verify(fresh, "a wrong password"))
  && (await argon2.verify(oldHash, oldPassword));
console.log(ok ? "passwords ok" : "passwords WRONG");
process.exit(ok ? 0 : 1);
`,
    );
    // A crash (SIGSEGV, exit 139 in a shell) or exit 1 rejects here.
    const { stdout } = await run(process.execPath, [check, OLD_HASH.hash, OLD_HASH.password], { cwd: work });
    expect(stdout.trim()).toBe("passwords ok");
  }, 30_000);

  it("starts the server, which signs an account up and in", async () => {
    server = await runUntil(
      process.execPath,
      ["dist/src/main.js"],
      { DATABASE_URL: "memory://", REDIS_URL: undefined, DATA_DIR: path.join(work, ".data"), PORT: "0", HOST: "127.0.0.1" },
      LISTENING,
      { cwd: work, timeoutMs: 60_000 },
    );
    const api = new Api(webInstance(server).baseUrl);
    const account = await api.register();
    expect((await api.post("/api/auth/login/", { email: account.email, password: account.password })).status).toBe(200);
    expect((await api.post("/api/auth/login/", { email: account.email, password: "not the password" })).status).toBe(401);
  }, 90_000);
});
