/**
 * The viewer pages are pluggable: a client kind is a page script and how to start it. The
 * harness bundles the script for the browser (iife, its exports on `window.benchClient`), loads
 * it in a page holding one muted `<video id="player">` (no src: the client sets it from
 * `videoUrl`), with the sampler already running, and calls `start` (default:
 * `benchClient.start(options)`), which resolves once the client has joined the room.
 *
 * Adding a kind is one entry here plus its page script, e.g. for the SDK:
 *   sdk: { entry: path.join(here, "sdk-client.ts") },
 * where sdk-client.ts exports `start(options: StartOptions): Promise<void>` built on
 * `@streamit/client` and its HTML5 video adapter.
 */
import path from "node:path";
import type { Page } from "playwright-core";
import type { StartOptions } from "./page-contract.js";

export interface ClientKind {
  /** The page script's entry (TypeScript), bundled by bundle.ts. */
  entry: string;
  /** Starts the client in its page; resolves once it has joined. */
  start?(page: Page, options: StartOptions): Promise<void>;
}

const here = import.meta.dirname;

export const clientKinds: Record<string, ClientKind> = {
  baseline: { entry: path.join(here, "baseline-client.ts") },
  sdk: { entry: path.join(here, "sdk-client.ts") },
};

/** The kind's own start, or the default: its bundle's `start(options)`. */
export async function startClient(kind: ClientKind, page: Page, options: StartOptions): Promise<void> {
  if (kind.start) return kind.start(page, options);
  // A string, not a function: tsx compiles functions with name helpers the page lacks.
  await page.evaluate(`benchClient.start(${JSON.stringify(options)})`);
}
