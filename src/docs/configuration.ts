/**
 * docs/configuration.md: every environment variable of the config schema (src/config.ts) with
 * its type, constraints, default and its `.describe()` text, in the schema's order.
 */
import { z } from "zod";
import { constraintsText, type JsonSchema, typeText } from "./json-schema.js";
import { code, generatedNote, page, table } from "./markdown.js";

export interface ConfigEntry {
  name: string;
  type: string;
  constraints: string;
  /** The default as the variable would be written, or undefined (unset by default). */
  defaultValue: string | undefined;
  description: string;
}

/** The entries of an environment schema (a zod object of variables), in declaration order. */
export function configEntries(schema: z.ZodObject): ConfigEntry[] {
  return Object.entries(schema.shape).map(([name, entry]) => {
    const field = entry as z.ZodType;
    let json: JsonSchema;
    try {
      json = z.toJSONSchema(field, { io: "input", unrepresentable: "any" }) as JsonSchema;
    } catch {
      json = {};
    }
    const { default: fallback, ...rest } = json;
    return {
      name,
      type: typeText(rest),
      constraints: constraintsText(rest),
      defaultValue: fallback === undefined ? undefined : String(fallback),
      description: field.description ?? json.description ?? "",
    };
  });
}

export function renderConfiguration(schema: z.ZodObject): string {
  const entries = configEntries(schema);
  return page([
    generatedNote("src/docs/configuration.ts, from the schema in src/config.ts"),
    "# Configuration",
    [
      "Everything is read once from the environment, by `loadConfig()` in `src/config.ts`, against one zod schema; this page is rendered from that schema (each variable's text is its `.describe()`).",
      "",
      "- An empty variable counts as unset.",
      "- A bad value stops start-up with a message that names the variable (`npm start` then exits with code 78).",
      "- `ADMIN_USERNAME` and `ADMIN_PASSWORD` must be set together; `JWT_SECRET` is required when `NODE_ENV=production`.",
      "- Cluster mode is on when `DATABASE_URL` is a PostgreSQL URL **and** `REDIS_URL` is set (see [operations.md](operations.md)); every process of a cluster needs the same `DATABASE_URL`, `REDIS_URL`, `REDIS_PREFIX` and `JWT_SECRET`.",
      "- A flag (`TRUST_PROXY`, `DEMO_ENABLED`) takes `true`, `false`, `1`, `0`, `yes` or `no`.",
    ].join("\n"),
    table(
      ["variable", "type", "constraints", "default", "description"],
      entries.map((e) => [
        code(e.name),
        e.type,
        e.constraints,
        e.defaultValue === undefined ? "*(unset)*" : code(e.defaultValue),
        e.description,
      ]),
    ),
  ]);
}
