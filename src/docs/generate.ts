/**
 * `npm run docs`: writes the generated reference pages (docs/protocol.md, docs/configuration.md,
 * docs/api.md) and .env.example from the code. `npm run docs -- --check` writes nothing and exits 1 when a page
 * is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PAGES } from "./pages.js";

const root = path.resolve(import.meta.dirname, "../..");
const check = process.argv.includes("--check");

let stale = 0;
let failed = 0;
for (const page of PAGES) {
  const file = path.join(root, page.path);
  let content: string;
  try {
    content = await page.render();
  } catch (err) {
    failed += 1;
    console.error(`${page.path}: could not be rendered: ${(err as Error).stack ?? String(err)}`);
    continue;
  }
  let current: string | undefined;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) {
    console.log(`${page.path}: up to date`);
  } else if (check) {
    stale += 1;
    console.log(`${page.path}: stale`);
  } else {
    writeFileSync(file, content);
    console.log(`${page.path}: written`);
  }
}
if (stale > 0) console.error("Run npm run docs to regenerate.");
// The exit code is the outcome (1: a page is stale or could not be rendered).
process.exit(stale > 0 || failed > 0 ? 1 : 0);
