/** Socket abuse limits: open sockets per user and per address, connection attempts per address. */
import { afterEach, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { type TestClient, transports } from "../helpers/clients.js";
import { closeTestClients } from "../helpers/open-clients.js";

let t: TestApp | undefined;
afterEach(async () => {
  // The test's clients leave before its own server stops (the setup's hook would run after this one).
  await closeTestClients();
  await t?.stop();
  t = undefined;
});

/** A public room and `n` approved guests (tokens). */
async function room(app: TestApp, n: number) {
  const host = await app.api.register();
  const created = await app.api.createRoom(host.token);
  const guests = [];
  for (let i = 0; i < n; i += 1) {
    const guest = await app.api.guest(`G${i}`);
    await app.api.join(guest.token, created.code);
    guests.push(guest.token as string);
  }
  return { code: created.code, hostToken: host.token, guests };
}

describe.each(transports)("socket limits over %s", (_name, connect) => {
  it("SOCKETS_PER_USER: one tab too many is closed with 4029; closing a tab frees its slot", async () => {
    t = await startApp({ SOCKETS_PER_USER: "2" });
    const { code, hostToken } = await room(t, 0);
    const tabs: TestClient[] = [connect(t.baseUrl, code, hostToken), connect(t.baseUrl, code, hostToken)];
    for (const tab of tabs) await tab.drainJoin();
    const extra = connect(t.baseUrl, code, hostToken);
    expect(await extra.closed).toMatchObject({ code: 4029 });
    await tabs[0]!.close();
    const again = connect(t.baseUrl, code, hostToken);
    await again.drainJoin();
  });

  it("SOCKETS_PER_CLIENT: one address cannot hold more than its share of sockets", async () => {
    t = await startApp({ SOCKETS_PER_CLIENT: "3" });
    const { code, hostToken, guests } = await room(t, 3);
    const open = [connect(t.baseUrl, code, hostToken), connect(t.baseUrl, code, guests[0]!), connect(t.baseUrl, code, guests[1]!)];
    for (const c of open) await c.drainJoin();
    const refused = connect(t.baseUrl, code, guests[2]!);
    expect(await refused.closed).toMatchObject({ code: 4029 });
  });

  it("SOCKET_CONNECTS_PER_MINUTE: a reconnect loop is refused with 4029 before any database work", async () => {
    t = await startApp({ SOCKET_CONNECTS_PER_MINUTE: "4" });
    const { code, hostToken } = await room(t, 0);
    for (let i = 0; i < 4; i += 1) {
      const c = connect(t.baseUrl, code, hostToken);
      await c.waitFor("PLAYBACK_STATE"); // admitted
      await c.close();
    }
    const looping = connect(t.baseUrl, code, hostToken);
    expect(await looping.closed).toMatchObject({ code: 4029 });
    // Even a bad token is refused for the rate first: no token check is spent on it.
    expect(await connect(t.baseUrl, code, "not-a-token").closed).toMatchObject({ code: 4029 });
  });
});
