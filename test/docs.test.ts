/**
 * The generated reference pages (docs/protocol.md, docs/configuration.md, docs/api.md) must be
 * what `npm run docs` writes from the code as it is now: each is regenerated in memory and
 * compared with the committed file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { CLOSE_CODES } from "@streamit/protocol";
import { describe, expect, it } from "vitest";
import { openApiDocument, unknownNoteKeys } from "../src/docs/api.js";
import { ROUTE_NOTES } from "../src/docs/api-notes.js";
import { PAGES } from "../src/docs/pages.js";
import { CLOSE_CODE_MEANINGS } from "../src/docs/protocol.js";

const root = path.resolve(import.meta.dirname, "..");

function committed(file: string): string | undefined {
  try {
    return readFileSync(path.join(root, file), "utf8");
  } catch {
    return undefined;
  }
}

describe("generated docs", () => {
  for (const page of PAGES) {
    // docs/api.md builds the app in-process (PGlite migrations): give it time on a busy machine.
    it(`${page.path} is up to date`, { timeout: 120_000 }, async () => {
      const fresh = await page.render();
      const onDisk = committed(page.path);
      if (onDisk !== fresh) {
        expect.fail(`${page.path} is ${onDisk === undefined ? "missing" : "stale"}: run npm run docs`);
      }
    });
  }

  it("renders the same bytes twice (no dates, no environment)", async () => {
    for (const page of PAGES.filter((p) => p.path !== "docs/api.md")) {
      expect(await page.render()).toBe(await page.render());
    }
  });

  it("every REST note names a route of the OpenAPI document", { timeout: 120_000 }, async () => {
    const stale = unknownNoteKeys(await openApiDocument(), ROUTE_NOTES);
    expect(stale, "src/docs/api-notes.ts names routes that do not exist").toEqual([]);
  });

  it("every close code has a meaning on the protocol page", () => {
    expect(Object.keys(CLOSE_CODES).filter((name) => !CLOSE_CODE_MEANINGS[name])).toEqual([]);
  });
});
