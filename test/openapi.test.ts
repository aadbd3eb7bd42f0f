/**
 * The OpenAPI document the app serves at /api/schema/ is one clients can be generated from:
 * every operation named (a unique, camelCase operationId), shared shapes as named components,
 * security stated per operation, Redocly's recommended rules (redocly.yaml) passed with no error
 * and no warning, and an openapi-typescript client that type-checks good calls and refuses bad
 * ones. The document does not depend on the backend: runs in the embedded project only.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATION_IDS } from "../src/http/operation-ids.js";
import { startApp, type TestApp } from "./helpers/app.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

type Security = Record<string, string[]>[];
interface Operation {
  operationId?: string;
  security?: Security;
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface Document {
  security?: Security;
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let t: TestApp;
let doc: Document;
let dir: string;

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${p}`, op })),
  );

interface Problem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer: string }[];
}

/** `redocly lint` with the repository's redocly.yaml: every error and warning it reports. */
async function lint(document: unknown, name: string): Promise<Problem[]> {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(document, null, 2));
  // Exit code 1 when there are errors: the JSON report is the outcome either way.
  const out = await run(bin("redocly"), ["lint", file, "--config", path.join(root, "redocly.yaml"), "--format=json"], {
    cwd: dir,
    maxBuffer: 32 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  return (JSON.parse(out.stdout) as { problems: Problem[] }).problems;
}

const describeProblems = (problems: Problem[]) =>
  problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`).join("\n");

describe.runIf(process.env.STREAMIT_TEST_BACKEND !== "cluster")("the OpenAPI document at /api/schema/", () => {
  beforeAll(async () => {
    t = await startApp();
    const res = await t.api.get("/api/schema/");
    expect(res.status).toBe(200);
    doc = res.body as Document;
    dir = mkdtempSync(path.join(tmpdir(), "streamit-openapi-"));
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("names every operation with a unique camelCase operationId, and every id of the table names an operation", () => {
    const missing = operations()
      .filter(({ op }) => !op.operationId)
      .map(({ key }) => key);
    expect(missing, `operations without an id (add them to src/http/operation-ids.ts): ${missing.join(", ")}`).toEqual([]);
    const ids = operations().map(({ op }) => op.operationId!);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids.filter((id) => !/^[a-z][a-zA-Z0-9]*$/.test(id))).toEqual([]);
    const keys = new Set(operations().map(({ key }) => key));
    expect(Object.keys(OPERATION_IDS).filter((key) => !keys.has(key))).toEqual([]);
    expect(doc.paths["/api/rooms/create/"]?.post?.operationId).toBe("createRoom");
  });

  it("states every operation's security: bearer by default, none for the public ones", () => {
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    const unstated = operations()
      .filter(({ op }) => !Array.isArray(op.security))
      .map(({ key }) => key);
    expect(unstated).toEqual([]);
    const publicOps = operations()
      .filter(({ op }) => op.security?.length === 0)
      .map(({ op }) => op.operationId);
    expect(publicOps).toEqual(
      expect.arrayContaining(["getLiveness", "register", "login", "createGuest", "refreshTokens", "listPublicRooms"]),
    );
    expect(publicOps).not.toContain("createRoom");
    expect(doc.paths["/api/auth/logout/"]?.post?.security).toEqual([{}, { bearerAuth: [] }]);
  });

  it("refers to the shared shapes as components: the error body, the room detail, the session", () => {
    const schemaOf = (p: string, method: string, status: string) =>
      doc.paths[p]?.[method]?.responses[status]?.content?.["application/json"]?.schema;
    for (const { key, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (!status.startsWith("4")) continue;
        expect(response.content?.["application/json"]?.schema, `${key} ${status}`).toEqual({ $ref: "#/components/schemas/Error" });
      }
    }
    // redocly.yaml turns operation-4xx-response off for the probes' sake only: every other
    // operation declares its client errors.
    const probes = new Set(["GET /health/", "GET /livez", "GET /readyz", "GET /api/health/", "GET /api/v1/health/"]);
    const without4xx = operations()
      .filter(({ key, op }) => !probes.has(key) && !Object.keys(op.responses).some((status) => status.startsWith("4")))
      .map(({ key }) => key);
    expect(without4xx).toEqual([]);
    expect(schemaOf("/api/rooms/{room_code}/detail/", "get", "200")).toEqual({
      anyOf: [{ $ref: "#/components/schemas/RoomDetail" }, { $ref: "#/components/schemas/RoomDetailPending" }],
    });
    expect(schemaOf("/api/auth/login/", "post", "200")).toEqual({ $ref: "#/components/schemas/Session" });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["Error", "RoomDetail", "User", "Participant", "QueueItem", "Invite"]),
    );
  });

  it("passes Redocly's recommended rules (redocly.yaml) with no error and no warning; a broken copy does not", {
    timeout: 60_000,
  }, async () => {
    const problems = await lint(doc, "openapi.json");
    expect(problems, describeProblems(problems)).toEqual([]);

    // The same lint on a copy with an unnamed operation, a duplicate id and a dangling $ref.
    const broken = structuredClone(doc);
    delete broken.paths["/api/rooms/join/"]!.post!.operationId;
    broken.paths["/api/rooms/delete/"]!.post!.operationId = "createRoom";
    delete broken.components.schemas.RoomDetailPending;
    const rules = new Set((await lint(broken, "broken.json")).map((p) => p.ruleId));
    expect([...rules]).toEqual(expect.arrayContaining(["operation-operationId", "operation-operationId-unique", "no-unresolved-refs"]));
  });

  it("generates a typed client (openapi-typescript) that compiles good calls and refuses mistyped ones", { timeout: 120_000 }, async () => {
    writeFileSync(path.join(dir, "api.d.ts"), astToString(await openapiTS(JSON.stringify(doc))));
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "bundler",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
          lib: ["ES2022", "DOM"],
          // The client library from this repository's node_modules (the directory is a temporary one).
          paths: { "openapi-fetch": [path.join(root, "node_modules/openapi-fetch/dist/index.d.mts")] },
        },
        files: ["good.ts", "bad.ts"],
      }),
    );
    const prelude = [
      'import createClient from "openapi-fetch";',
      'import type { components, paths } from "./api";',
      'const client = createClient<paths>({ baseUrl: "http://localhost:8000" });',
      'const auth = { headers: { Authorization: "Bearer token" } };',
    ];
    writeFileSync(
      path.join(dir, "good.ts"),
      [
        ...prelude,
        "export async function hostAndLook(): Promise<string | undefined> {",
        '  const created = await client.POST("/api/rooms/create/", { body: { is_private: true, entry_mode: "PASSWORD" }, ...auth });',
        "  if (created.error) return created.error.code;",
        "  const password: string | undefined = created.data.room_password;",
        '  const detail = await client.GET("/api/rooms/{room_code}/detail/", { params: { path: { room_code: created.data.code } }, ...auth });',
        '  if (detail.data?.participant_status === "APPROVED") {',
        '    const cohosts: components["schemas"]["RoomDetail"]["cohosts"] = detail.data.cohosts;',
        '    return [detail.data.host_id, cohosts.length, password].join(" ");',
        "  }",
        '  const session = await client.POST("/api/auth/login/", { body: { email: "a@example.com", password: "secret" } });',
        "  return session.data?.access_token;",
        "}",
      ].join("\n"),
    );
    // One mistake per line, each marked: the compiler must object to exactly these lines.
    const mistakes = [
      'client.POST("/api/rooms/create/", { body: { is_private: "yes" }, ...auth }); // a string for a boolean',
      'client.POST("/api/rooms/creat/", { body: {}, ...auth }); // no such path',
      'client.GET("/api/rooms/create/", auth); // no such method on the path',
      'client.POST("/api/rooms/join/", { body: { password: "x" }, ...auth }); // the required code is missing',
      'client.GET("/api/rooms/{room_code}/detail/", auth); // the path parameter is missing',
      'client.POST("/api/auth/login/", { body: {} }).then((r) => r.data?.room_id); // not a field of Session',
    ];
    writeFileSync(
      path.join(dir, "bad.ts"),
      [...prelude, "export function mistakes(): void {", ...mistakes.map((m) => `  ${m}`), "}"].join("\n"),
    );

    const out = await run(bin("tsc"), ["-p", path.join(dir, "tsconfig.json")], { cwd: dir }).then(
      () => "",
      (err: { stdout?: string }) => err.stdout ?? "",
    );
    const errors = out.split("\n").filter((line) => /error TS\d+/.test(line));
    expect(
      errors.filter((e) => !e.startsWith("bad.ts")),
      out,
    ).toEqual([]);
    const firstMistake = prelude.length + 2;
    const lines = new Set(errors.map((e) => Number(/^bad\.ts\((\d+),/.exec(e)?.[1])));
    expect(
      [...lines].sort((a, b) => a - b),
      out,
    ).toEqual(mistakes.map((_, i) => firstMistake + i));
    expect(readFileSync(path.join(dir, "api.d.ts"), "utf8")).toContain("createRoom");
  });
});
