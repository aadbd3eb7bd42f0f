/**
 * A socket lives no longer than its access token: at the token's expiry it is closed with 4001
 * `Token expired`, unless the client sent REAUTH with a fresh token of the same user first.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ ACCESS_TOKEN_TTL_SECONDS: "3" });
});
afterAll(() => t?.stop());

const claimsOf = (token: string): { iat: number; exp: number } => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
/** The `exp` of a JWT, in epoch ms. */
const expiryOf = (token: string): number => claimsOf(token).exp * 1000;
/** The `iat` of a JWT, in epoch ms (whole seconds). */
const issuedAtOf = (token: string): number => claimsOf(token).iat * 1000;

async function freshToken(refreshToken: string): Promise<{ access: string; refresh: string }> {
  const res = await t.api.post("/api/auth/refresh/", { refresh_token: refreshToken });
  expect(res.status).toBe(200);
  return { access: res.body.access_token, refresh: res.body.refresh_token };
}

describe.each(transports)("token expiry over %s", (_name, connect) => {
  it("works until the token expires, then closes with 4001 Token expired", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    client.send({ type: "CHAT_MESSAGE", message: "before expiry" });
    expect((await client.waitFor("CHAT_MESSAGE")).message).toBe("before expiry");
    const closed = await client.closed;
    expect(closed).toEqual({ code: 4001, reason: "Token expired" });
    expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(host.token) - 50);
  });

  it("REAUTH with a fresh token of the same user keeps it open until the new token expires", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    // A refreshed token expires at least a second later (JWT times have one-second resolution):
    // refresh once the clock is past the second the first token was issued in.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThanOrEqual(issuedAtOf(host.token) + 1000), { timeout: 2000, interval: 20 });
    const fresh = await freshToken(host.refresh_token);
    expect(expiryOf(fresh.access)).toBeGreaterThan(expiryOf(host.token));
    client.send({ type: "REAUTH", token: fresh.access });
    expect(await client.waitFor("REAUTHED")).toMatchObject({ expires_at: new Date(expiryOf(fresh.access)).toISOString() });
    expect((await client.closed).code).toBe(4001);
    // Closed at the new token's expiry, not the old one's.
    expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(fresh.access) - 50);
  });

  it("REAUTH with another user's token, or a bad one, is refused with INVALID_TOKEN and changes nothing", async () => {
    const host = await t.api.register();
    const other = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    client.send({ type: "REAUTH", token: other.token });
    expect(await client.waitFor("ERROR")).toMatchObject({ code: "INVALID_TOKEN", message: "The token belongs to another user" });
    client.send({ type: "REAUTH", token: "not-a-token" });
    expect(await client.waitFor("ERROR")).toMatchObject({ code: "INVALID_TOKEN" });
    expect(await client.closed).toEqual({ code: 4001, reason: "Token expired" });
    expect(Date.now()).toBeLessThan(expiryOf(other.token) + 1000);
  });
});
