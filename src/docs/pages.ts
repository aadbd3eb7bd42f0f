/**
 * The generated reference pages (and .env.example): each one's path (from the repository root) and its content,
 * rendered in memory from the code. `npm run docs` writes them; test/docs.test.ts compares them
 * with the committed files.
 */
import { envSchema } from "../config.js";
import { messageCatalog } from "../realtime/catalog.js";
import { openApiDocument, renderApi } from "./api.js";
import { renderConfiguration } from "./configuration.js";
import { renderEnvExample } from "./env-example.js";
import { renderProtocol } from "./protocol.js";

export interface Page {
  /** Relative to the repository root, e.g. `docs/protocol.md`. */
  path: string;
  render(): Promise<string>;
}

export const PAGES: readonly Page[] = [
  { path: "docs/protocol.md", render: async () => renderProtocol(messageCatalog()) },
  { path: "docs/configuration.md", render: async () => renderConfiguration(envSchema) },
  { path: "docs/api.md", render: async () => renderApi(await openApiDocument()) },
  { path: ".env.example", render: async () => renderEnvExample(envSchema) },
];
