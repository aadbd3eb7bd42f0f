/**
 * Socket.IO Admin UI: the `/admin` namespace instrumented with basic auth (the password is kept
 * only as a bcrypt hash), the UI bundle served from the package at `/admin/`. Off unless both
 * ADMIN_USERNAME and ADMIN_PASSWORD are set. Sessions live in Redis in cluster mode.
 */
import { createRequire } from "node:module";
import { hostname } from "node:os";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import { instrument } from "@socket.io/admin-ui";
import bcrypt from "bcryptjs";
import type { FastifyInstance } from "fastify";
import type { Server } from "socket.io";
import type { RedisClient } from "../redis.js";

export const ADMIN_UI_PATH = "/admin/";

/** Admin UI sessions in Redis (node-redis), shared by every instance. */
class RedisSessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async doesSessionExist(sessionId: string): Promise<boolean> {
    return (await this.redis.exists(this.prefix + sessionId)) === 1;
  }

  saveSession(sessionId: string): void {
    this.redis.set(this.prefix + sessionId, "1", { EX: 86_400 }).catch(() => {});
  }
}

export async function installAdminUi(
  http: FastifyInstance,
  io: Server,
  options: {
    username: string;
    password: string;
    redis?: RedisClient | undefined;
    prefix: string;
    serverId: string;
    /** `production` sends aggregates only (cheap at scale); `development` lists every socket. */
    mode: "development" | "production";
  },
): Promise<void> {
  const uiDir = path.join(path.dirname(createRequire(import.meta.url).resolve("@socket.io/admin-ui/package.json")), "ui", "dist");
  await http.register(fastifyStatic, { root: uiDir, prefix: ADMIN_UI_PATH, decorateReply: false });
  http.get(ADMIN_UI_PATH, { schema: { hide: true } }, (_request, reply) => reply.redirect(`${ADMIN_UI_PATH}index.html`));
  instrument(io, {
    namespaceName: "/admin",
    auth: { type: "basic", username: options.username, password: bcrypt.hashSync(options.password, 10) },
    mode: options.mode,
    readonly: false,
    serverId: `${hostname()}:${options.serverId}`,
    ...(options.redis ? { store: new RedisSessionStore(options.redis, `${options.prefix}admin-ui:`) as never } : {}),
  });
}
