/**
 * The packages as a client gets them: `npm pack` of @streamit/protocol and @streamit/client, the
 * tarballs installed into a fresh folder (nothing of the server's comes along), a small
 * TypeScript client typechecked there against the installed types and run with Node against a
 * real server: the host plays, the viewer follows and chats.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { guest, party } from "../helpers/party.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const tsc = path.join(root, "node_modules/typescript/bin/tsc");
const PACKAGES = ["protocol", "client"] as const;

interface Packed {
  filename: string;
  files: { path: string }[];
}

let t: TestApp;
let work: string;
let app: string;
const packed: Record<string, Packed> = {};

beforeAll(async () => {
  t = await startApp();
  work = mkdtempSync(path.join(tmpdir(), "streamit-pack-"));
  for (const name of PACKAGES) {
    const dir = path.join(root, "packages", name);
    if (!existsSync(path.join(dir, "dist/index.js"))) throw new Error(`packages/${name}/dist is missing: run npm run build:packages`);
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: dir });
    packed[name] = (JSON.parse(stdout) as Packed[])[0]!;
  }
  app = path.join(work, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "fresh-client", private: true, type: "module" }));
  const tarballs = PACKAGES.map((name) => path.join(work, packed[name]!.filename));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts", ...tarballs], { cwd: app });
}, 180_000);

afterAll(async () => {
  await t?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed packages", () => {
  it("hold what their exports name, a README and no sources", () => {
    for (const name of PACKAGES) {
      const files = packed[name]!.files.map((f) => f.path);
      expect(files, name).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/index.js", "dist/index.d.ts"]));
      expect(
        files.filter((f) => !f.startsWith("dist/") && !["package.json", "README.md", "LICENSE"].includes(f)),
        name,
      ).toEqual([]);
    }
  });

  it("install without the server's dependencies", () => {
    const installed = readdirSync(path.join(app, "node_modules")).filter((n) => !n.startsWith("."));
    for (const server of ["@electric-sql", "@node-rs", "bullmq", "fastify", "pg", "kysely", "redis"])
      expect(installed).not.toContain(server);
    expect(readdirSync(path.join(app, "node_modules/@streamit")).sort()).toEqual(["client", "protocol"]);
    // zod, socket.io-client and socket.io-client's own few.
    expect(installed.length).toBeLessThan(20);
  });

  it("typecheck a client (no lib.dom, no @types/node) and refuse a mistyped message", async () => {
    writeClient();
    const typecheck = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app }).then(
      () => "",
      (err: { stdout: string }) => err.stdout,
    );
    expect(typecheck).toBe("");
    expect(existsSync(path.join(app, "out/client.js"))).toBe(true);
    writeFileSync(
      path.join(app, "bad.ts"),
      'import { connect } from "@streamit/client";\nconst room = connect({ url: "http://x", code: "ABC123", token: "t" });\nvoid room.send("PLAY", { time: "soon" });\n',
    );
    writeFileSync(path.join(app, "tsconfig.bad.json"), JSON.stringify({ extends: "./tsconfig.json", files: ["bad.ts"], include: [] }));
    const failed = await run(process.execPath, [tsc, "-p", "tsconfig.bad.json", "--noEmit"], { cwd: app }).then(
      () => "",
      (err: { stdout: string }) => err.stdout,
    );
    expect(failed).toMatch(/bad\.ts\(3,\d+\): error TS2322/);
  });

  it("run against a real server: the host plays, the viewer follows and chats", async () => {
    const p = await party(t, { members: { viewer: guest("Tarball") } });
    const { stdout } = await run(process.execPath, ["out/client.js"], {
      cwd: app,
      timeout: 30_000,
      env: { ...process.env, SERVER: t.baseUrl, CODE: p.room.code, HOST_TOKEN: p.host.token, VIEWER_TOKEN: p.viewer.token },
    });
    const seen = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(seen).toMatchObject({
      played: { version: 1, duplicate: false },
      viewerState: { is_playing: true, time: 5, version: 1 },
      chat: { ok: true },
      viewerSawChat: "hello from a tarball",
      synced: true,
    });
  });
});

/** The fresh folder's client and its tsconfig: strict, nodenext, no lib.dom and no @types. */
function writeClient(): void {
  writeFileSync(
    path.join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2022"],
        module: "nodenext",
        moduleResolution: "nodenext",
        types: [],
        strict: true,
        outDir: "out",
        // zod and engine.io-client name DOM or Node globals (URL, Headers, setTimeout) in their types.
        skipLibCheck: true,
      },
      files: ["client.ts"],
    }),
  );
  writeFileSync(
    path.join(app, "client.ts"),
    `import { connect, type PlaybackState, type Room } from "@streamit/client";
import type { ServerMessageOf } from "@streamit/protocol";

// The globals this script uses, without Node's types.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };
declare const console: { log(text: string): void };

const { SERVER = "", CODE = "", HOST_TOKEN = "", VIEWER_TOKEN = "" } = process.env;
const next = (room: Room, event: "playback", match: (s: PlaybackState) => boolean) =>
  new Promise<PlaybackState>((resolve) => {
    const off = room.on(event, (s) => match(s) && (off(), resolve(s)));
  });

const host = connect({ url: SERVER, code: CODE, token: HOST_TOKEN });
const viewer = connect({ url: SERVER, code: CODE, token: VIEWER_TOKEN });
await Promise.all([host.ready, viewer.ready]);
const chatSeen = new Promise<string>((resolve) =>
  viewer.on("CHAT_MESSAGE", (m: ServerMessageOf<"CHAT_MESSAGE">) => resolve(m.message)),
);
const following = next(viewer, "playback", (s) => s.is_playing);
const played = await host.play(5);
const viewerState = await following;
const chat = await viewer.send("CHAT_MESSAGE", { message: "hello from a tarball" });
const viewerSawChat = await chatSeen;
// On a busy machine the first TIME_SYNC answer may come after all of the above: wait for the burst.
const synced = viewer.clock.synced || (await new Promise<boolean>((resolve) => viewer.clock.on("sync", () => resolve(true))));
host.close();
viewer.close();
console.log(JSON.stringify({ played, viewerState, chat, viewerSawChat, synced }));
process.exit(0);
`,
  );
}
