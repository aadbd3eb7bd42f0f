/**
 * Escalating lockouts for login and room-password guessing: each time a window's budget is
 * spent the lock doubles (window, 2×, 4×, … up to LOCKOUT_MAX_SECONDS); a successful login
 * forgets the account's strikes. Runs with a 1 s window so the doubling takes seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiResponse } from "./helpers/api.js";
import { startApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({
    LOGIN_ATTEMPTS_PER_ACCOUNT: "2",
    ROOM_PASSWORD_ATTEMPTS_PER_ACCOUNT: "2",
    BRUTE_FORCE_WINDOW_SECONDS: "1",
    LOCKOUT_MAX_SECONDS: "4",
  });
});
afterAll(() => t?.stop());

const retryAfter = (res: ApiResponse) => Number(res.headers.get("retry-after"));
/** Waits out the lockout the server announced: the window is wall-clock time, there is no event to wait for. */
const waitOut = (res: ApiResponse) => new Promise((resolve) => setTimeout(resolve, retryAfter(res) * 1000 + 50));

/** Sends wrong guesses until refused; returns the statuses and the refusal. */
async function exhaust(guess: (i: number) => Promise<ApiResponse>) {
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const res = await guess(i);
    statuses.push(res.status);
    if (res.status === 429) return { statuses, refusal: res };
  }
  throw new Error(`never refused: ${statuses.join(",")}`);
}

describe("login", () => {
  it("locks for 1, 2, 4, 4 s on repeated exhaustion, and a correct password is refused while locked", async () => {
    const user = await t.api.register();
    const wrong = (i: number) => t.api.post("/api/auth/login/", { email: user.email, password: `wrong ${i}` });
    const locks: number[] = [];
    for (let strike = 1; strike <= 4; strike += 1) {
      const { statuses, refusal } = await exhaust(wrong);
      expect(statuses, `strike ${strike}`).toEqual([401, 401, 429]);
      locks.push(retryAfter(refusal));
      const right = await t.api.post("/api/auth/login/", { email: user.email, password: user.password });
      expect(right.status, "the right password is refused during a lockout").toBe(429);
      expect(right.body.code).toBe("RATE_LIMITED");
      await waitOut(refusal);
    }
    expect(locks).toEqual([1, 2, 4, 4]);
  });

  it("a successful login forgets the strikes", async () => {
    const user = await t.api.register();
    const wrong = (i: number) => t.api.post("/api/auth/login/", { email: user.email, password: `wrong ${i}` });
    let { refusal } = await exhaust(wrong);
    await waitOut(refusal);
    ({ refusal } = await exhaust(wrong));
    expect(retryAfter(refusal)).toBe(2);
    await waitOut(refusal);
    expect((await t.api.post("/api/auth/login/", { email: user.email, password: user.password })).status).toBe(200);
    ({ refusal } = await exhaust(wrong));
    expect(retryAfter(refusal), "back to the first lock").toBe(1);
  });

  it("another account is not locked by the first one's strikes", async () => {
    const victim = await t.api.register();
    await exhaust((i) => t.api.post("/api/auth/login/", { email: victim.email, password: `wrong ${i}` }));
    const other = await t.api.register();
    expect((await t.api.post("/api/auth/login/", { email: other.email, password: other.password })).status).toBe(200);
  });
});

describe("room password", () => {
  it("escalates per account and room", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token, { is_private: true, entry_mode: "PASSWORD" });
    const attacker = await t.api.register();
    const guess = (i: number) => t.api.join(attacker.token, room.code, `guess${i}`);
    let { statuses, refusal } = await exhaust(guess);
    expect(statuses).toEqual([403, 403, 429]);
    expect(retryAfter(refusal)).toBe(1);
    await waitOut(refusal);
    ({ refusal } = await exhaust(guess));
    expect(retryAfter(refusal)).toBe(2);
    expect((await t.api.join(attacker.token, room.code, room.room_password)).status, "locked even with the right password").toBe(429);
    await waitOut(refusal);
    expect((await t.api.join(attacker.token, room.code, room.room_password)).status).toBe(200);
  });
});
