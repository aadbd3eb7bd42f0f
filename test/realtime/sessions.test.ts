/** Ending a session reaches its open sockets: logout and refresh-token replay close them with 4001. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

describe.each(transports)("session revocation over %s", (_name, connect) => {
  it("logout closes that session's sockets with 4001; the user's other session stays in the room", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const other = await t.api.post("/api/auth/login/", { email: host.email, password: host.password });
    const ended = connect(t.baseUrl, room.code, host.token);
    await ended.drainJoin();
    const kept = connect(t.baseUrl, room.code, other.body.access_token);
    await kept.drainJoin();

    expect((await t.api.post("/api/auth/logout/", undefined, { token: host.token })).status).toBe(200);
    expect((await ended.closed).code).toBe(4001);
    // The other session still works: its playback command is applied and echoed.
    kept.send({ type: "PAUSE", time: 3 });
    expect(await kept.waitFor("PLAYBACK_STATE")).toMatchObject({ is_playing: false, time: 3 });
  });

  it("a replayed refresh token revokes the session and closes its sockets with 4001", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    expect((await t.api.post("/api/auth/refresh/", { refresh_token: host.refresh_token })).status).toBe(200);
    expect((await t.api.post("/api/auth/refresh/", { refresh_token: host.refresh_token })).status).toBe(401);
    expect((await client.closed).code).toBe(4001);
  });
});
