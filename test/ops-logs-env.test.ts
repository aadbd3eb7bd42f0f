/**
 * Logs and .env, through real processes: the worker logs through pino at LOG_LEVEL (JSON lines
 * with a level), LOG_FORMAT=pretty gives readable lines, and the web process started the way
 * `npm start` starts it (the script's node flags) in a directory with a .env takes its values,
 * while a variable already in the environment wins.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it as vitestIt } from "vitest";
import { envSchema } from "../src/config.js";
import { backend } from "./helpers/app.js";
import { LISTENING } from "./helpers/cluster.js";

// Processes of their own, whatever backend the project selected: run once, in the embedded project.
const it = vitestIt.runIf(backend === "embedded");

const root = path.resolve(import.meta.dirname, "..");
const tsxLoader = import.meta.resolve("tsx");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "streamit-ops-"));
  dirs.push(dir);
  return dir;
}

/** The parent's environment without any StreamIt variable (the test's own setting must not leak in). */
function cleanEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(envSchema.shape)) delete env[name];
  return { ...env, ...extra };
}

/** Runs a process to its end; its stdout and stderr together, and its exit code. */
function runToEnd(args: string[], env: Record<string, string | undefined>, cwd = root) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => resolve({ code, output }));
  });
}

const loggerScript = (level: string, format: string) =>
  [
    `import { createLogger } from ${JSON.stringify(path.join(root, "src/logger.ts"))};`,
    `const log = createLogger({ LOG_LEVEL: "${level}", LOG_FORMAT: "${format}" });`,
    `log.info({ n: 1 }, "an info line"); log.warn({ n: 2 }, "a warn line"); log.error({ n: 3 }, "an error line");`,
  ].join("\n");

it("the logger at LOG_LEVEL=warn drops info lines; its JSON lines carry a level", async () => {
  const { code, output } = await runToEnd(["--import", tsxLoader, "--input-type=module", "-e", loggerScript("warn", "json")], cleanEnv({}));
  expect(code).toBe(0);
  const lines = output
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { level: number; msg: string });
  expect(lines.map((l) => [l.level, l.msg])).toEqual([
    [40, "a warn line"],
    [50, "an error line"],
  ]);
});

it("LOG_FORMAT=pretty writes readable lines, not JSON", async () => {
  const { code, output } = await runToEnd(
    ["--import", tsxLoader, "--input-type=module", "-e", loggerScript("info", "pretty")],
    cleanEnv({}),
  );
  expect(code).toBe(0);
  const lines = output
    .trim()
    .split("\n")
    .filter((l) => /line/.test(l));
  expect(lines).toHaveLength(3);
  for (const line of lines) expect(() => JSON.parse(line)).toThrow();
  expect(lines[0]).toMatch(/INFO.*an info line/);
  expect(lines[1]).toMatch(/WARN.*a warn line/);
});

it("the worker logs through pino at LOG_LEVEL (a JSON line with a level and its name)", async () => {
  // Without cluster mode the worker refuses to start: its one line is a fatal, logged even at LOG_LEVEL=error.
  const worker = path.join(root, "workers/lifecycle-worker.ts");
  const quiet = await runToEnd(
    ["--import", tsxLoader, worker],
    cleanEnv({ LOG_LEVEL: "error", LOG_FORMAT: "json", DATABASE_URL: "memory://" }),
  );
  expect(quiet.code).toBe(78);
  const line = JSON.parse(quiet.output.trim()) as Record<string, unknown>;
  expect(line).toMatchObject({ level: 60, name: "lifecycle-worker", msg: expect.stringContaining("cluster mode") });
  const silent = await runToEnd(["--import", tsxLoader, worker], cleanEnv({ LOG_LEVEL: "silent", DATABASE_URL: "memory://" }));
  expect(silent).toEqual({ code: 78, output: "" });
});

/** The node flags an npm script gives its entry point (between `node`/`tsx` and the script). */
function scriptFlags(name: string): string[] {
  const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const words = scripts[name]!.split(/\s+/);
  expect(["node", "tsx"]).toContain(words[0]);
  return words.slice(1, -1);
}

it("every entry-point script loads .env", () => {
  const scripts = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  for (const name of ["start", "dev", "worker", "migrate", "expire-rooms", "createsuperuser"]) {
    expect(scripts[name], name).toContain("--env-file-if-exists=.env");
  }
  expect(readFileSync(path.join(root, "Procfile"), "utf8")).toMatch(/^web: node --env-file-if-exists=\.env /m);
});

function dirWithEnv(): string {
  const dir = tempDir();
  writeFileSync(
    path.join(dir, ".env"),
    ["PORT=0", "HOST=127.0.0.1", "DATABASE_URL=memory://", `DATA_DIR=${dir}/data`, "LOG_FORMAT=pretty", "LOG_LEVEL=info"].join("\n"),
  );
  return dir;
}

it("the web process started like npm start in a directory with a .env takes its values", { timeout: 60_000 }, async () => {
  const dir = dirWithEnv();
  const args = [...scriptFlags("start"), "--import", tsxLoader, path.join(root, "src/main.ts")];
  // Until its listening line (then stopped); the whole environment is given, so nothing of this one leaks in.
  const line = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, env: cleanEnv({}), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const early = () => reject(new Error(`exited before listening:\n${output}`));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not listening in time:\n${output}`));
    }, 45_000);
    child.once("exit", () => clearTimeout(timer));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = output.split("\n").find((l) => LISTENING.test(l));
      if (!found) return;
      child.off("exit", early);
      child.once("exit", () => resolve(found));
      child.kill("SIGTERM");
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", early);
  });
  // PORT=0, HOST and LOG_FORMAT=pretty came from the file.
  expect(() => JSON.parse(line)).toThrow();
  expect(line).toMatch(/INFO.*StreamIt listening on http:\/\/127\.0\.0\.1:\d+/);
});

it("the worker started like npm run worker reads .env, and a variable of the environment wins", async () => {
  const dir = dirWithEnv();
  const args = [...scriptFlags("worker"), "--import", tsxLoader, path.join(root, "workers/lifecycle-worker.ts")];
  const fromFile = await runToEnd(args, cleanEnv({}), dir);
  expect(fromFile.code).toBe(78);
  expect(() => JSON.parse(fromFile.output.trim()), "LOG_FORMAT=pretty from .env").toThrow();
  expect(fromFile.output).toMatch(/FATAL.*cluster mode/);
  const overridden = await runToEnd(args, cleanEnv({ LOG_FORMAT: "json" }), dir);
  expect(overridden.code).toBe(78);
  expect(JSON.parse(overridden.output.trim())).toMatchObject({ level: 60, name: "lifecycle-worker" });
});
