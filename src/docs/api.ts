/**
 * docs/api.md: the REST reference, rendered from the OpenAPI document the app itself serves at
 * /api/schema/ (@fastify/swagger over the routes' zod schemas), plus the notes of api-notes.ts.
 */
import { ROUTE_NOTES, type RouteNote } from "./api-notes.js";
import { fieldRows, inlineRefs, type JsonSchema, refName } from "./json-schema.js";
import { code, compactTable, generatedNote, page, table } from "./markdown.js";

interface Parameter {
  in: "query" | "path" | "header" | "cookie";
  name: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface Content {
  content?: Record<string, { schema?: JsonSchema }>;
  description?: string;
}

export interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, unknown[]>[];
  parameters?: Parameter[];
  requestBody?: Content & { required?: boolean };
  responses?: Record<string, Content>;
}

export interface OpenApiDocument {
  info?: { title?: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** What a status means on this API (every error body is `{error, code, details?}`). */
const STATUS_MEANINGS: Record<string, string> = {
  "400": "bad input",
  "401": "not authenticated",
  "403": "not allowed",
  "404": "not found",
  "405": "wrong method",
  "409": "conflict",
  "410": "room expired or deleted",
  "413": "body too large",
  "415": "not JSON",
  "429": "rate limited (`Retry-After`)",
  "502": "provider error",
  "503": "unavailable",
};

let built: Promise<OpenApiDocument> | undefined;

/**
 * Builds the app in-process with embedded settings (PGlite in memory, nothing on disk, no
 * services) and returns the OpenAPI document it serves. Takes a few seconds (migrations), so the
 * document is built once per process.
 */
export function openApiDocument(): Promise<OpenApiDocument> {
  built ??= buildDocument();
  return built;
}

async function buildDocument(): Promise<OpenApiDocument> {
  const [{ buildApp }, { loadConfig }] = await Promise.all([import("../app.js"), import("../config.js")]);
  const config = loadConfig({
    DATABASE_URL: "memory://",
    JWT_SECRET: "docs-generator-secret-docs-generator-secret",
    LOG_LEVEL: "silent",
  });
  const app = await buildApp(config);
  try {
    return structuredClone(app.http.swagger()) as unknown as OpenApiDocument;
  } finally {
    await app.close();
  }
}

export interface Route {
  key: string;
  method: string;
  path: string;
  operation: Operation;
}

export function routesOf(doc: OpenApiDocument): Route[] {
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) routes.push({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation });
    }
  }
  return routes;
}

/** Keys of `notes` that name no route of the document (stale notes). */
export function unknownNoteKeys(doc: OpenApiDocument, notes: Readonly<Record<string, RouteNote>> = ROUTE_NOTES): string[] {
  const keys = new Set(routesOf(doc).map((r) => r.key));
  return Object.keys(notes).filter((key) => !keys.has(key));
}

/** A bearer token is required: offered as the only way (`[{}, {bearerAuth: []}]` makes it optional). */
const bearer = (op: Operation) => {
  const alternatives = op.security ?? [];
  return alternatives.some((s) => "bearerAuth" in s) && !alternatives.some((s) => Object.keys(s).length === 0);
};

function authText(route: Route, note: RouteNote | undefined): string {
  if (note?.who) return bearer(route.operation) ? `bearer: ${note.who}` : note.who;
  return bearer(route.operation) ? "bearer" : "–";
}

const jsonSchemaOf = (content: Content | undefined) => content?.content?.["application/json"]?.schema;

function fieldTable(schema: JsonSchema | undefined): string {
  const rows = schema ? fieldRows(schema) : [];
  return compactTable(
    ["field", "type", "required", "constraints", "description"],
    rows.map((r) => [code(r.field), r.type, r.required ? "yes" : "no", r.constraints, r.description]),
    [0, 1, 2],
  );
}

function parameterTable(parameters: Parameter[]): string {
  return compactTable(
    ["parameter", "in", "type", "required", "constraints", "description"],
    parameters.map((p) => {
      const [row] = fieldRows({ type: "object", properties: { [p.name]: p.schema ?? {} }, required: p.required ? [p.name] : [] });
      return [code(p.name), p.in, row?.type, p.required ? "yes" : "no", row?.constraints, p.description ?? row?.description];
    }),
    [0, 1, 2, 3],
  );
}

/** True for the shared error body `{error, code, details?}` (documented once, at the top). */
function isErrorBody(schema: JsonSchema | undefined): boolean {
  const keys = Object.keys(schema?.properties ?? {}).sort();
  return keys.join(",") === "code,details,error" || keys.join(",") === "code,error";
}

/** ` (`Name`)` for a component, ` (an array of `Name`)` / ` (an array)` for arrays, else nothing. */
function shapeLabel(raw: JsonSchema | undefined, resolved: JsonSchema | undefined): string {
  const name = refName(raw);
  if (name) return ` (${code(name)})`;
  if (resolved?.type !== "array") return "";
  const items = refName(raw?.items as JsonSchema | undefined);
  return items ? ` (an array of ${code(items)})` : " (an array)";
}

function responseBlock(status: string, content: Content, components: Components): string {
  const raw = jsonSchemaOf(content);
  const schema = raw && inlineRefs(raw, components);
  const rawAlternatives = raw?.anyOf ?? raw?.oneOf;
  const alternatives = schema?.anyOf ?? schema?.oneOf;
  if (alternatives && alternatives.length > 1) {
    return page([
      `**Response ${status}**, one of:`,
      ...alternatives.map((alternative, i) => {
        const rows = fieldRows(alternative);
        const word = i === 0 ? "Either" : "or";
        const shape = shapeLabel(rawAlternatives?.[i], alternative);
        const label = shape ? `*${word}*${shape}:` : `*${word}:*`;
        return rows.length > 0 ? page([label, fieldTable(alternative)]).trimEnd() : `${label} no fields.`;
      }),
    ]).trimEnd();
  }
  const rows = schema ? fieldRows(schema) : [];
  const what = shapeLabel(raw, schema);
  if (rows.length === 0) return `**Response ${status}**${what}${schema ? ": no fields." : "."}`;
  return page([`**Response ${status}**${what}:`, fieldTable(schema)]).trimEnd();
}

type Components = Readonly<Record<string, JsonSchema>>;

function routeSection(route: Route, components: Components): string {
  const { operation: op } = route;
  const resolved = (content: Content | undefined) => {
    const schema = jsonSchemaOf(content);
    return schema && inlineRefs(schema, components);
  };
  const note = ROUTE_NOTES[route.key];
  const responses = Object.entries(op.responses ?? {});
  const success = responses.filter(([status]) => status.startsWith("2"));
  const others = responses.filter(([status]) => !status.startsWith("2"));
  const errors = others.filter(([, c]) => isErrorBody(resolved(c))).map(([status]) => status);
  const otherBodies = others.filter(([, c]) => !isErrorBody(resolved(c)));
  const params = (op.parameters ?? []).filter((p) => p.in === "path" || p.in === "query");
  const body = resolved(op.requestBody);
  const facts = [
    op.operationId ? `- **Operation:** ${code(op.operationId)}` : undefined,
    `- **Auth:** ${authText(route, note)}`,
    errors.length > 0 ? `- **Errors:** ${errors.map((s) => `${s} ${STATUS_MEANINGS[s] ?? ""}`.trim()).join(", ")}` : undefined,
  ].filter(Boolean);
  return page([
    `### ${code(`${route.method} ${route.path}`)}`,
    op.summary,
    op.description,
    facts.join("\n"),
    note?.notes,
    params.length > 0 ? page(["**Parameters:**", parameterTable(inlineRefs(params, components))]).trimEnd() : undefined,
    body
      ? fieldRows(body).length > 0
        ? page(["**Body** (JSON):", fieldTable(body)]).trimEnd()
        : "**Body:** an empty JSON object (or none)."
      : undefined,
    ...success.map(([status, content]) => responseBlock(status, content, components)),
    ...otherBodies.map(([status, content]) => responseBlock(status, content, components)),
  ]).trimEnd();
}

function tagOf(route: Route): string {
  return route.operation.tags?.[0] ?? "other";
}

export function renderApi(doc: OpenApiDocument): string {
  const routes = routesOf(doc);
  const components = doc.components?.schemas ?? {};
  const tags: string[] = [];
  for (const route of routes) if (!tags.includes(tagOf(route))) tags.push(tagOf(route));
  return page([
    generatedNote("src/docs/api.ts, from the OpenAPI document the app serves at /api/schema/"),
    "# REST API reference",
    [
      "- Every `/api/...` route below also answers under `/api/v1/...` (not `/api/schema/` and `/api/docs/`), with or without its trailing slash. The interactive documentation is at `/api/docs/` and the OpenAPI 3 document at `/api/schema/`.",
      "- **Auth** `bearer`: send `Authorization: Bearer <access_token>` (from register, login, guest or refresh). A missing token is 401 `AUTH_REQUIRED`, a bad, expired or revoked one 401 `INVALID_TOKEN`.",
      "- Bodies are JSON: `Content-Type: application/json` (anything else is 415), at most `BODY_LIMIT_BYTES`; a POST without a body counts as `{}`. A NUL or a lone surrogate in any string or key is 400. Display names (register, guest) refuse control characters, bidirectional controls and invisible formatting characters.",
      '- Errors are `{"error": "<message>", "code": "<CODE>"}`, plus `details` for validation failures, with the original service\'s messages where it had them (`Invalid credentials`, `Invalid room password`, `Only host can approve`, …). The codes and their statuses: [protocol.md#error-codes](protocol.md#error-codes). A 429 carries `Retry-After`.',
      "- Every answer carries `X-Request-ID` (the request's own, if it sent a valid one).",
      "- Limits (see [configuration.md](configuration.md)): failed logins, wrong room passwords, sign-ups, joins, room creation and unknown room codes per client address (and per account where it applies); `public/` 120 and `search/` 30 per client address per minute. While the process is overloaded, requests get 503 `SERVICE_UNAVAILABLE` (load shedding, `EVENT_LOOP_DELAY_MAX_MS`).",
    ].join("\n"),
    "## Clients",
    "Every operation has a stable `operationId` (its **Operation** below) and the shared shapes are named schemas under `components.schemas` (named next to a response below, e.g. `RoomDetail`), so a generated client gets readable method and type names. Public operations say `security: []`, the others `bearerAuth`, and `servers` is `/`, the origin serving the document. `npm run lint:openapi` lints the document with Redocly's recommended rules (redocly.yaml says which are off, and why); test/openapi.test.ts holds it to no error and no warning. A typed TypeScript client: `npx openapi-typescript http://localhost:8000/api/schema/ -o streamit-api.d.ts`, then `createClient<paths>()` of `openapi-fetch` (test/openapi.test.ts compiles one).",
    "## Routes",
    table(
      ["method and path", "auth", "summary"],
      routes.map((r) => [code(`${r.method} ${r.path}`), authText(r, ROUTE_NOTES[r.key]), r.operation.summary]),
    ),
    ...tags.map((tag) => page([`## ${tag}`, ...routes.filter((r) => tagOf(r) === tag).map((r) => routeSection(r, components))]).trimEnd()),
  ]);
}
