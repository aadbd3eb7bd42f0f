/**
 * Writes the OpenAPI document the app serves at /api/schema/ to a file (the first argument), for
 * tools that read a file: `npm run lint:openapi` lints it with Redocly, client generators such
 * as openapi-typescript read it without a running server.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { openApiDocument } from "./api.js";

const file = process.argv[2];
if (!file) {
  console.error("usage: tsx src/docs/openapi-json.ts <file.json>");
  process.exit(2);
}
mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
writeFileSync(file, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
console.log(`${file}: written`);
// Like generate.ts: done once written, whatever handle a library left open.
process.exit(0);
