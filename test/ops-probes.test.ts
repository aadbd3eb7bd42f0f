/**
 * /livez and /readyz: 200 when up; /readyz 503 with a reason when the database is gone and from
 * the first moment of a drain (checked while the drain is held open by a chat message in flight).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";
import { rawClient } from "./helpers/clients.js";
import { holdChatPosts } from "./helpers/hold-chat.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

async function probe(baseUrl: string, path: string) {
  const res = await fetch(`${baseUrl}${path}`);
  return { status: res.status, cache: res.headers.get("cache-control"), body: (await res.json()) as Record<string, unknown> };
}

it("answers 200 on both probes while up, uncached", async () => {
  const live = await probe(t.baseUrl, "/livez");
  expect(live).toEqual({ status: 200, cache: "no-store", body: { status: "ok" } });
  const ready = await probe(t.baseUrl, "/readyz");
  expect(ready.status).toBe(200);
  expect(ready.cache).toBe("no-store");
  expect(ready.body).toMatchObject({ status: "ok", database: "ok", migrations: "ok" });
  expect(ready.body.redis).toBe(t.config.REDIS_URL ? "ok" : "disabled");
  // The old endpoints are untouched.
  expect((await probe(t.baseUrl, "/health/")).body).toMatchObject({ status: "ok" });
  expect((await probe(t.baseUrl, "/api/health/")).body).toEqual({ status: "ok" });
});

it("/readyz answers 503 with a reason when the database is unreachable; /livez stays 200", async () => {
  const other = await startApp();
  try {
    await other.app.database.close();
    const ready = await probe(other.baseUrl, "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "error", database: "error", reason: "database not answering" });
    expect((await probe(other.baseUrl, "/livez")).status).toBe(200);
  } finally {
    await other.stop().catch(() => {}); // its database is already closed
  }
});

it("/readyz answers 503 draining while the process drains", async () => {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  const client = rawClient(t.baseUrl, room.code, host.token);
  await client.drainJoin();
  // Hold a chat message inside the chat service: the drain waits for it, so the server still listens.
  const { inFlight, release } = holdChatPosts(t.app);
  client.send({ type: "CHAT_MESSAGE", message: "hold the drain" });
  await inFlight;

  const closing = t.app.close();
  const ready = await probe(t.baseUrl, "/readyz");
  expect(ready.status).toBe(503);
  expect(ready.cache).toBe("no-store");
  expect(ready.body).toEqual({ status: "draining", reason: expect.stringContaining("shutting down") });
  release();
  await closing;
});
