/**
 * The demo page at /demo/: the static files of packages/demo (its dist/, built by
 * `npm run build:packages`), a watch-together room in the browser on top of the SDK. On unless
 * DEMO_ENABLED=false. When the page is not built, /demo/ answers 404 saying so (and start-up
 * logs a warning) instead of failing the server.
 *
 * The page talks to the server it came from: the socket transports admit their own origin
 * whatever CORS_ORIGINS says (src/realtime/origins.ts).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { AppError } from "../errors.js";
import { sendAppError } from "./errors.js";

export const DEMO_PATH = "/demo/";

export const DEMO_NOT_BUILT = "The demo page is not built: run `npm run build:packages` (or `npm install`), then restart the server";

/**
 * The page's own Content-Security-Policy instead of the API's `default-src 'none'`. It loads only
 * its own files (no inline script or style), so 'self' is enough for those; `connect-src 'self'`
 * covers its REST calls and its Socket.IO WebSocket (CSP 3: 'self' matches ws:/wss: on the same
 * host). Media is the exception: the host picks a media file's URL on any site (the `direct`
 * provider takes any http(s) URL), so `media-src` allows every http(s) origin. The defaults of
 * helmet are off (`useDefaults: false`): among them `upgrade-insecure-requests`, which would
 * rewrite an http: media URL to https: and break it.
 */
const DEMO_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    connectSrc: ["'self'"],
    mediaSrc: ["http:", "https:"],
    imgSrc: ["'self'", "data:"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  },
};

/** Where the built page is: the dist/ folder of the `@streamit/demo` workspace, or undefined. */
export function demoDistDir(): string | undefined {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve("@streamit/demo/package.json")), "dist");
  } catch {
    return undefined;
  }
}

export async function installDemo(http: FastifyInstance, options: { root?: string | undefined } = {}): Promise<void> {
  const root = options.root ?? demoDistDir();
  const built = root !== undefined && existsSync(path.join(root, "index.html"));
  if (!built) http.log.warn({ root }, `demo page: ${DEMO_NOT_BUILT}`);
  // A scope of its own under /demo, so that its hook (the CSP) and its not-found answer apply here only.
  await http.register(
    async (demo) => {
      demo.addHook("onRoute", (route) => {
        route.config = { ...route.config, helmet: { contentSecurityPolicy: DEMO_CSP } } as typeof route.config;
      });
      // A missing file is a 404 (the API's catch-all would call it a wrong method: a GET route matches the path).
      demo.setNotFoundHandler((request, reply) => {
        if (request.method === "GET" || request.method === "HEAD")
          return sendAppError(reply, new AppError("NOT_FOUND", built ? "Not found" : DEMO_NOT_BUILT));
        reply.header("Allow", "GET, HEAD");
        return sendAppError(reply, new AppError("METHOD_NOT_ALLOWED", `Method "${request.method}" not allowed.`));
      });
      if (!built) return;
      // The page itself, at /demo/ (and /demo, sent on to /demo/, where the page's relative URLs resolve).
      const index = path.join(root, "index.html");
      demo.get("/", { schema: { hide: true } }, async (request, reply) => {
        const [pathname = "", query] = request.url.split("?", 2);
        if (!pathname.endsWith("/")) return reply.redirect(`${DEMO_PATH}${query === undefined ? "" : `?${query}`}`, 301);
        return reply
          .type("text/html; charset=utf-8")
          .header("Cache-Control", "no-cache")
          .send(await readFile(index));
      });
      // Its files. decorateReply: false, since the Admin UI may register @fastify/static as well.
      await demo.register(fastifyStatic, { root, decorateReply: false, index: false });
    },
    { prefix: DEMO_PATH.slice(0, -1) },
  );
}
