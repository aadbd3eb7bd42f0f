/**
 * Builds the demo page into dist/: src/main.ts bundled with the SDK by esbuild (one ES module,
 * minified, with a source map), and the static files copied beside it. The server serves dist/
 * at /demo/ (src/http/demo.ts).
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [path.join(here, "src", "main.ts")],
  outfile: path.join(dist, "main.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) copyFileSync(path.join(here, file), path.join(dist, file));
console.log(`demo page built in ${path.relative(process.cwd(), dist) || "."}`);
