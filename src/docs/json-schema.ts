/**
 * JSON Schema (as zod 4's `z.toJSONSchema` and the OpenAPI document produce it) as table rows:
 * one row per field, nested objects and arrays of objects flattened (`data.event`,
 * `viewers[].drift`), with a type, whether it is required, its constraints and description.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
  /** OpenAPI 3.0's way of saying "or null". */
  nullable?: boolean;
  additionalProperties?: unknown;
  [key: string]: unknown;
}

export interface FieldRow {
  field: string;
  type: string;
  required: boolean;
  constraints: string;
  description: string;
}

/** zod's integer bounds (±2^53−1) say nothing a reader needs. */
const SAFE = Number.MAX_SAFE_INTEGER;

const FORMATS: Record<string, string> = {
  uuid: "UUID",
  uri: "URL",
  url: "URL",
  email: "e-mail address",
  "date-time": "date-time (ISO 8601)",
  date: "date (ISO 8601)",
};

const json = (value: unknown) => JSON.stringify(value) ?? String(value);
const literal = (value: unknown) => `\`${typeof value === "string" && value !== "" && value.trim() === value ? value : json(value)}\``;

/** The alternatives a schema allows, null included as `{type: "null"}`. */
function variants(schema: JsonSchema): JsonSchema[] {
  const { anyOf, oneOf, nullable, ...rest } = schema;
  const alternatives = anyOf ?? oneOf;
  let out: JsonSchema[];
  if (alternatives) {
    out = alternatives.flatMap(variants);
  } else if (Array.isArray(rest.type)) {
    out = rest.type.map((type) => ({ ...rest, type }));
  } else if (Array.isArray(rest.allOf) && rest.allOf.length === 1 && rest.type === undefined) {
    out = variants({ ...rest.allOf[0]!, ...rest, allOf: undefined });
  } else if (Array.isArray(rest.enum) && rest.enum.length > 0 && rest.enum.every((v) => v === null)) {
    out = [{ type: "null" }];
  } else {
    out = [rest];
  }
  if (nullable && !out.some(isNull)) out.push({ type: "null" });
  return out;
}

const isNull = (s: JsonSchema) => s.type === "null";

function isObject(s: JsonSchema): boolean {
  return s.type === "object" || (s.type === undefined && s.properties !== undefined);
}

function itemsOf(s: JsonSchema): JsonSchema | undefined {
  return Array.isArray(s.items) ? undefined : s.items;
}

function singleType(s: JsonSchema): string {
  if (s.const !== undefined) return literal(s.const);
  if (s.type === "null") return "null";
  if (s.type === "string" && s.format && FORMATS[s.format]) return FORMATS[s.format]!;
  if (s.type === "array") {
    const items = itemsOf(s);
    if (!items) return "array";
    const inner = typeText(items);
    return inner === "any" ? "array" : `array of ${variants(items).some(isObject) ? "objects" : inner}`;
  }
  if (isObject(s)) return "object";
  if (typeof s.type === "string") return s.type;
  if (s.enum) return "enum";
  return "any";
}

/** The type in words: `string`, `integer or null`, `UUID`, `array of objects`, a literal. */
export function typeText(schema: JsonSchema): string {
  const all = variants(schema);
  const named = [...new Set(all.filter((v) => !isNull(v)).map(singleType))];
  if (all.some(isNull)) named.push("null");
  return named.length === 0 ? "any" : named.join(" or ");
}

function range(
  min: number | undefined,
  max: number | undefined,
  exclusiveMin: boolean,
  exclusiveMax: boolean,
  unit = "",
): string | undefined {
  const lo = min !== undefined && min > -SAFE ? min : undefined;
  const hi = max !== undefined && max < SAFE ? max : undefined;
  const u = unit ? ` ${unit}` : "";
  if (lo !== undefined && hi !== undefined && !exclusiveMin && !exclusiveMax) return lo === hi ? `exactly ${lo}${u}` : `${lo}–${hi}${u}`;
  const parts: string[] = [];
  if (lo !== undefined) parts.push(`${exclusiveMin ? ">" : "≥"} ${lo}${u}`);
  if (hi !== undefined) parts.push(`${exclusiveMax ? "<" : "≤"} ${hi}${u}`);
  return parts.length ? parts.join(", ") : undefined;
}

function variantConstraints(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.enum) out.push(s.enum.length === 1 ? `always ${literal(s.enum[0])}` : `one of ${s.enum.map(literal).join(", ")}`);
  if (s.type === "number" || s.type === "integer") {
    // JSON Schema 2020-12 (numbers) and OpenAPI 3.0 (booleans) spell exclusive bounds differently.
    const exMin = typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum : undefined;
    const exMax = typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum : undefined;
    const r = range(
      exMin ?? s.minimum,
      exMax ?? s.maximum,
      exMin !== undefined || s.exclusiveMinimum === true,
      exMax !== undefined || s.exclusiveMaximum === true,
    );
    if (r) out.push(r);
  }
  if (s.type === "string") {
    const r = s.minLength === 1 && s.maxLength === undefined ? "non-empty" : range(s.minLength, s.maxLength, false, false, "characters");
    if (r) out.push(r);
    // A format's pattern (zod adds one to UUIDs) repeats the format.
    if (s.pattern && !(s.format && FORMATS[s.format])) out.push(`matches ${literal(s.pattern)}`);
  }
  if (s.type === "array") {
    const r = range(s.minItems, s.maxItems, false, false, "items");
    if (r) out.push(r);
  }
  return out;
}

/** Bounds, lengths, patterns, enums and the default, in words (empty when there are none). */
export function constraintsText(schema: JsonSchema): string {
  const parts = variants(schema).flatMap(variantConstraints);
  const fallback = schema.default ?? variants(schema).find((v) => v.default !== undefined)?.default;
  if (fallback !== undefined) parts.push(`default ${literal(fallback)}`);
  return [...new Set(parts)].join("; ");
}

function descriptionOf(schema: JsonSchema): string {
  if (schema.description) return schema.description;
  return variants(schema).find((v) => v.description)?.description ?? "";
}

/**
 * One row per field of an object schema (or of the objects of an array schema, as `[].field`).
 * A schema with no fields gives no rows.
 */
export function fieldRows(schema: JsonSchema, prefix = ""): FieldRow[] {
  const all = variants(schema);
  const object = all.find((v) => isObject(v) && v.properties);
  if (!object) {
    const array = all.find((v) => v.type === "array");
    const items = array && itemsOf(array);
    return items ? fieldRows(items, `${prefix}[].`) : [];
  }
  const required = new Set(object.required ?? []);
  const rows: FieldRow[] = [];
  for (const [name, property] of Object.entries(object.properties ?? {})) {
    const field = `${prefix}${name}`;
    rows.push({
      field,
      type: typeText(property),
      required: required.has(name),
      constraints: constraintsText(property),
      description: descriptionOf(property),
    });
    const inner = variants(property);
    if (inner.some((v) => isObject(v) && v.properties && Object.keys(v.properties).length > 0)) {
      rows.push(...fieldRows(property, `${field}.`));
    } else {
      const items = inner.map((v) => (v.type === "array" ? itemsOf(v) : undefined)).find((i) => i !== undefined);
      if (items && variants(items).some((v) => isObject(v) && v.properties)) rows.push(...fieldRows(items, `${field}[].`));
    }
  }
  return rows;
}

const COMPONENT_REF = /^#\/components\/schemas\/(.+)$/;

/** The component a schema refers to (`$ref: "#/components/schemas/Name"`), if it is a reference. */
export function refName(schema: JsonSchema | undefined): string | undefined {
  return typeof schema?.$ref === "string" ? COMPONENT_REF.exec(schema.$ref)?.[1] : undefined;
}

/**
 * The value with every reference to a component replaced by the component itself (its siblings,
 * such as a description, kept over it), so that fields render wherever they are defined. A
 * component that refers to itself is left as a reference the second time.
 */
export function inlineRefs<T>(value: T, components: Readonly<Record<string, JsonSchema>>, open: ReadonlySet<string> = new Set()): T {
  if (Array.isArray(value)) return value.map((v) => inlineRefs(v, components, open)) as T;
  if (!value || typeof value !== "object") return value;
  const name = refName(value as JsonSchema);
  const target = name === undefined || open.has(name) ? undefined : components[name];
  if (name !== undefined && target) {
    const { $ref: _ref, ...siblings } = value as JsonSchema;
    const inner = new Set(open).add(name);
    return { ...inlineRefs(target, components, inner), ...inlineRefs(siblings, components, inner) } as T;
  }
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, inlineRefs(v, components, open)])) as T;
}
