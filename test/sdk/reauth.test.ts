/**
 * Token expiry with the SDK, on a server whose access tokens last 3 s: with a token provider the
 * room sends REAUTH before the expiry and the same connection lives on; with a fixed token it
 * ends with 4001 and does not try again.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jwtExpiry } from "../../packages/client/src/index.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { open, recorder } from "./helpers/rooms.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ ACCESS_TOKEN_TTL_SECONDS: "3" });
});
afterAll(() => t?.stop());

describe("SDK token renewal", () => {
  it("renews the token over REAUTH before it expires: the connection outlives the first token", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    let refreshToken: string = host.refresh_token;
    let calls = 0;
    const getToken = async () => {
      calls += 1;
      if (calls === 1) return host.token as string;
      const res = await t.api.post("/api/auth/refresh/", { refresh_token: refreshToken });
      refreshToken = res.body.refresh_token;
      return res.body.access_token as string;
    };
    const sdk = open({ url: t.baseUrl, code: room.code, getToken });
    const seen = recorder(sdk);
    await sdk.ready;
    const firstExpiry = jwtExpiry(host.token)!;
    const [renewed] = await seen.next("REAUTHED");
    expect(Date.now()).toBeLessThan(firstExpiry);
    expect(Date.parse(renewed.expires_at)).toBeGreaterThan(firstExpiry);
    // Past the first token's expiry, the same connection still works.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(firstExpiry + 300), { timeout: 4000, interval: 50 });
    expect(await sdk.send("CHAT_MESSAGE", { message: "still here" })).toMatchObject({ ok: true });
    expect(seen.count("reconnecting")).toBe(0);
    expect(seen.count("closed")).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("with a fixed token, the expiry ends the room (4001) without a reconnect", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const sdk = open({ url: t.baseUrl, code: room.code, token: host.token });
    const seen = recorder(sdk);
    await sdk.ready;
    const [closed] = await seen.next("closed");
    expect(closed).toMatchObject({ code: 4001, reason: "Token expired" });
    expect(seen.count("reconnecting")).toBe(0);
    expect(sdk.status).toBe("closed");
  });
});
