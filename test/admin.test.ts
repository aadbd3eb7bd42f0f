/** Staff accounts and tools: createsuperuser, staff-only REST, the Socket.IO Admin UI. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { markLive } from "../src/lifecycle/transitions.js";
import { startApp, type TestApp, testEnv } from "./helpers/app.js";
import { rawClient, sioClient } from "./helpers/clients.js";

const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
let t: TestApp;
let staffToken: string;

beforeAll(async () => {
  const { env } = testEnv({ ADMIN_USERNAME: "admin", ADMIN_PASSWORD: "admin-secret-1" });
  if (!env.DATABASE_SCHEMA) env.DATABASE_URL = `pglite://${env.DATA_DIR}/pgdata`;
  // The command runs before the server: an embedded database belongs to one process at a time.
  const created = await run(
    process.execPath,
    ["--import", "tsx", "workers/createsuperuser.ts", "--email", "boss@example.com", "--password", "staff passphrase"],
    {
      env: { ...process.env, ...env },
    },
  );
  expect(created.stdout).toMatch(/Superuser created: boss@example.com/);
  t = await startApp(env);
  const login = await t.api.post("/api/auth/login/", { email: "boss@example.com", password: "staff passphrase" });
  staffToken = login.body.access_token;
}, 60_000);
afterAll(() => t?.stop());

describe("createsuperuser", () => {
  it("made a staff account named Admin", async () => {
    const me = await t.api.get("/api/auth/me/", { token: staffToken });
    expect(me.body).toMatchObject({ display_name: "Admin", is_staff: true, email: "boss@example.com" });
  });
});

describe("staff REST", () => {
  it("is refused to anonymous and non-staff callers", async () => {
    const user = await t.api.register();
    expect((await t.api.get("/api/admin/rooms/")).status).toBe(401);
    const res = await t.api.get("/api/admin/rooms/", { token: user.token });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: "Staff only", code: "PERMISSION_DENIED" });
    expect(
      (await t.api.post("/api/admin/rooms/delete/", { room_id: "00000000-0000-4000-8000-000000000000" }, { token: user.token })).status,
    ).toBe(403);
  });

  it("lists rooms with presence and users with a filter", async () => {
    const host = await t.api.register("ListedHost");
    const room = await t.api.createRoom(host.token);
    const client = rawClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    const rooms = await t.api.get("/api/admin/rooms/?state=LIVE", { token: staffToken });
    expect(rooms.body.find((r: any) => r.code === room.code)).toMatchObject({
      state: "LIVE",
      host: "ListedHost",
      viewers: 1,
      host_online: true,
    });
    const users = await t.api.get("/api/v1/admin/users/?q=listedhost", { token: staffToken });
    expect(users.body.map((u: any) => u.display_name)).toEqual(["ListedHost"]);
  });

  it("expires a live room (sockets get ROOM_EXPIRED and 4004) and deletes another", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = sioClient(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    const expired = await t.api.post("/api/admin/rooms/expire/", { room_id: room.room_id }, { token: staffToken });
    expect(expired.body).toEqual({ room_id: room.room_id, state: "EXPIRED" });
    await client.waitFor("ROOM_EXPIRED");
    expect((await client.waitFor("CLOSE")).code).toBe(4004);
    const again = await t.api.post("/api/admin/rooms/expire/", { room_id: room.room_id }, { token: staffToken });
    expect(again.status).toBe(409);

    const other = await t.api.createRoom(host.token);
    await markLive(t.app.database.db, other.room_id);
    const deleted = await t.api.post("/api/admin/rooms/delete/", { room_id: other.room_id }, { token: staffToken });
    expect(deleted.body).toEqual({ room_id: other.room_id, state: "DELETED" });
    expect(
      (await t.api.post("/api/admin/rooms/delete/", { room_id: "00000000-0000-4000-8000-000000000000" }, { token: staffToken })).status,
    ).toBe(404);
  });
});

describe("Socket.IO Admin UI", () => {
  it("serves the UI bundle at /admin/ and guards the /admin namespace with basic auth", async () => {
    const page = await fetch(`${t.baseUrl}/admin/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Socket.IO Admin UI");
    const connect = (password: string) =>
      new Promise<string>((resolve) => {
        const socket = io(`${t.baseUrl}/admin`, {
          auth: { username: "admin", password },
          transports: ["websocket"],
          forceNew: true,
          reconnection: false,
        });
        socket.on("connect", () => {
          socket.disconnect();
          resolve("connected");
        });
        socket.on("connect_error", (err) => resolve(err.message));
      });
    expect(await connect("wrong")).toBe("invalid credentials");
    expect(await connect("admin-secret-1")).toBe("connected");
  });

  it("is off when no credentials are configured", async () => {
    const plain = await startApp();
    try {
      expect((await fetch(`${plain.baseUrl}/admin/`)).status).toBe(404);
      const error = await new Promise<string>((resolve) => {
        const socket = io(`${plain.baseUrl}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false });
        socket.on("connect", () => resolve("connected"));
        socket.on("connect_error", (err) => resolve(err.message));
      });
      expect(error).toBe("Invalid namespace");
    } finally {
      await plain.stop();
    }
  });

  it.runIf(existsSync(CHROMIUM))(
    "headless Chromium logs in and sees the connected sockets",
    async () => {
      const { chromium } = await import("playwright-core");
      const host = await t.api.register();
      const room = await t.api.createRoom(host.token);
      const client = sioClient(t.baseUrl, room.code, host.token);
      await client.drainJoin();
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${t.baseUrl}/admin/`);
        await page.getByLabel("Server URL").fill(t.baseUrl);
        await page.getByLabel("Username").fill("admin");
        await page.getByLabel("Password").fill("admin-secret-1");
        await page.getByRole("button", { name: /connect/i }).click();
        await page.getByText(`/room/${room.code}`).waitFor({ timeout: 15_000 });
        await page.getByRole("link", { name: "Sockets" }).click();
        await page.locator(".v-select", { hasText: "Select namespace" }).locator(".v-select__slot").click();
        await page.getByRole("option", { name: `/room/${room.code}` }).click();
        await page.getByText(client.socket.id!).waitFor({ timeout: 15_000 });
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
