/** The brute-force and sign-up limits follow their settings (defaults are tested in auth/rooms). */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({
    LOGIN_ATTEMPTS_PER_ACCOUNT: "2",
    ROOM_PASSWORD_ATTEMPTS_PER_ACCOUNT: "2",
    SIGNUPS_PER_CLIENT: "2",
    ROOM_JOINS_PER_CLIENT: "3",
    ROOM_CREATES_PER_CLIENT: "2",
  });
});
afterAll(() => t?.stop());

it("LOGIN_ATTEMPTS_PER_ACCOUNT: the third wrong password in the window is 429 with Retry-After", async () => {
  const user = await t.api.register();
  const statuses = [];
  for (let i = 0; i < 3; i += 1)
    statuses.push((await t.api.post("/api/auth/login/", { email: user.email, password: `wrong ${i}` })).status);
  expect(statuses).toEqual([401, 401, 429]);
  const right = await t.api.post("/api/auth/login/", { email: user.email, password: user.password });
  expect(right.status).toBe(429);
  expect(right.headers.get("retry-after")).toBeTruthy();
});

it("ROOM_PASSWORD_ATTEMPTS_PER_ACCOUNT: the third wrong room password is 429", async () => {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
  const attacker = await t.api.register();
  const statuses = [];
  for (let i = 0; i < 3; i += 1) statuses.push((await t.api.join(attacker.token, room.code, `guess${i}`)).status);
  expect(statuses).toEqual([403, 403, 429]);
});

it("SIGNUPS_PER_CLIENT: one address gets two guest accounts, then 429", async () => {
  const ip = "10.9.8.7";
  const statuses = [];
  for (let i = 0; i < 3; i += 1) statuses.push((await t.api.post("/api/auth/guest/", { display_name: `G${i}` }, { ip })).status);
  expect(statuses).toEqual([200, 200, 429]);
});

it("ROOM_JOINS_PER_CLIENT: a join flood from one address gets 429 after three requests; other addresses are unaffected", async () => {
  const host = await t.api.register();
  const room = await t.api.createRoom(host.token);
  const viewer = await t.api.register();
  const ip = "10.9.8.8";
  const statuses = [];
  for (let i = 0; i < 4; i += 1)
    statuses.push((await t.api.post("/api/rooms/join/", { code: room.code }, { token: viewer.token, ip })).status);
  expect(statuses).toEqual([200, 200, 200, 429]);
  expect((await t.api.post("/api/rooms/join/", { code: room.code }, { token: viewer.token, ip: "10.9.8.9" })).status).toBe(200);
});

it("ROOM_CREATES_PER_CLIENT: one address creates two rooms, then 429 with Retry-After", async () => {
  const host = await t.api.register();
  const ip = "10.9.8.10";
  const responses = [];
  for (let i = 0; i < 3; i += 1) responses.push(await t.api.post("/api/rooms/create/", { is_private: false }, { token: host.token, ip }));
  expect(responses.map((r) => r.status)).toEqual([201, 201, 429]);
  expect(responses[2]!.body.code).toBe("RATE_LIMITED");
  expect(responses[2]!.headers.get("retry-after")).toBeTruthy();
});
