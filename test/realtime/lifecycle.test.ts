/** LIVE on the host's first join, grace on the host's last close, expiry exactly once, deletion. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { backend, startApp, type TestApp, testEnv } from "../helpers/app.js";
import { rawClient, sioClient } from "../helpers/clients.js";
import { guest, party } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ GRACE_PERIOD_SECONDS: "2" });
});
afterAll(() => t?.stop());

const stateOf = async (app: TestApp, roomId: string) =>
  (await app.app.database.db.selectFrom("rooms").select("state").where("id", "=", roomId).executeTakeFirstOrThrow()).state;

/** A public room, its host and the guest "Stayer" (`viewer`), nobody connected yet. */
const hostAndStayer = () => party(t, { members: { viewer: guest("Stayer") } });

describe("room lifecycle", () => {
  it("the host's first join makes the room LIVE and listed; a viewer's does not", async () => {
    const { host, room, viewer } = await hostAndStayer();
    const viewerClient = rawClient(t.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    expect(await stateOf(t, room.room_id)).toBe("CREATED");
    const hostClient = sioClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    expect(await stateOf(t, room.room_id)).toBe("LIVE");
    const listed = await t.api.get("/api/rooms/public/");
    expect(listed.body.find((r: any) => r.code === room.code)).toMatchObject({ viewers: 2 });
  });

  it("grace starts only when the host's last tab closes; return within grace restores LIVE", async () => {
    const { host, room, viewer } = await hostAndStayer();
    const tab1 = rawClient(t.baseUrl, room.code, host.token);
    await tab1.drainJoin();
    const tab2 = sioClient(t.baseUrl, room.code, host.token);
    await tab2.drainJoin();
    const viewerClient = rawClient(t.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    await tab1.close();
    await viewerClient.expectNone(200, "HOST_DISCONNECTED");
    expect(await stateOf(t, room.room_id)).toBe("LIVE");
    await tab2.close();
    const away = await viewerClient.waitFor("HOST_DISCONNECTED");
    expect(away.grace_seconds).toBe(2);
    expect(await stateOf(t, room.room_id)).toBe("GRACE");
    // Public discovery hides a room whose host is away.
    expect((await t.api.get("/api/rooms/public/")).body.some((r: any) => r.code === room.code)).toBe(false);
    // A newcomer during grace is told the host is away.
    const viewer2 = await t.api.guest("Late");
    await t.api.join(viewer2.token, room.code);
    const late = sioClient(t.baseUrl, room.code, viewer2.token);
    await late.drainJoin();
    expect((await late.waitFor("HOST_DISCONNECTED")).grace_seconds).toBeLessThanOrEqual(2);

    const back = rawClient(t.baseUrl, room.code, host.token);
    await back.drainJoin();
    await viewerClient.waitFor("HOST_RECONNECTED");
    expect(await stateOf(t, room.room_id)).toBe("LIVE");
    // The cancelled grace timer does not expire the room later: a bounded wait past the 2 s grace
    // is the point (there is no event for something that must not happen).
    await new Promise((r) => setTimeout(r, 2300));
    expect(await stateOf(t, room.room_id)).toBe("LIVE");
  });

  it("at grace end the room expires once: ROOM_EXPIRED then close 4004 on every transport", async () => {
    const { host, room, viewer } = await hostAndStayer();
    const hostClient = rawClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const rawViewer = rawClient(t.baseUrl, room.code, viewer.token);
    await rawViewer.drainJoin();
    const sioViewer = sioClient(t.baseUrl, room.code, viewer.token);
    await sioViewer.drainJoin();
    await hostClient.close();
    await rawViewer.waitFor("HOST_DISCONNECTED");
    // No sleep: the events are awaited (grace is 2 s).
    expect(await rawViewer.waitFor("ROOM_EXPIRED", 6000)).toEqual({ type: "ROOM_EXPIRED" });
    expect(await rawViewer.closed).toEqual({ code: 4004, reason: "Room expired" });
    await sioViewer.waitFor("ROOM_EXPIRED");
    expect((await sioViewer.waitFor("CLOSE")).code).toBe(4004);
    expect(await stateOf(t, room.room_id)).toBe("EXPIRED");
    const audit = await t.app.database.db
      .selectFrom("room_events")
      .select("event")
      .where("room_id", "=", room.room_id)
      .where("event", "=", "room.expired")
      .execute();
    expect(audit).toHaveLength(1);
    expect((await rawClient(t.baseUrl, room.code, viewer.token).closed).code).toBe(4005);
  });

  it("deleting a room tells every socket ROOM_DELETED and closes them with 4005", async () => {
    const { host, room, viewer } = await hostAndStayer();
    const hostClient = sioClient(t.baseUrl, room.code, host.token);
    await hostClient.drainJoin();
    const viewerClient = rawClient(t.baseUrl, room.code, viewer.token);
    await viewerClient.drainJoin();
    await t.api.post("/api/rooms/delete/", { room_id: room.room_id }, { token: host.token });
    expect(await viewerClient.waitFor("ROOM_DELETED")).toEqual({ type: "ROOM_DELETED" });
    expect(await viewerClient.closed).toEqual({ code: 4005, reason: "Room deleted" });
    await hostClient.waitFor("ROOM_DELETED");
    expect(await hostClient.waitFor("CLOSE")).toMatchObject({ code: 4005 });
    // No grace for a deleted room when its host's socket closes.
    expect(await stateOf(t, room.room_id)).toBe("DELETED");
  });
});

describe.runIf(backend === "embedded")("restart recovery (embedded)", () => {
  it("on start, rooms whose grace ended are expired and LIVE rooms (host gone) enter grace", async () => {
    const { env } = testEnv({ GRACE_PERIOD_SECONDS: "60" });
    env.DATABASE_URL = `pglite://${env.DATA_DIR}/pgdata`;
    const first = await startApp(env);
    const host = await first.api.register();
    const a = await first.api.createRoom(host.token);
    const b = await first.api.createRoom(host.token);
    const db = first.app.database.db;
    await db
      .updateTable("rooms")
      .set({ state: "GRACE", grace_ends_at: new Date(Date.now() - 1000), host_disconnected_at: new Date() })
      .where("id", "=", a.room_id)
      .execute();
    await db.updateTable("rooms").set({ state: "LIVE" }).where("id", "=", b.room_id).execute();
    await first.app.close();

    const second = await buildApp(loadConfig(env));
    try {
      const rows = await second.database.db.selectFrom("rooms").select(["id", "state", "grace_ends_at"]).execute();
      expect(rows.find((r) => r.id === a.room_id)?.state).toBe("EXPIRED");
      const graced = rows.find((r) => r.id === b.room_id)!;
      expect(graced.state).toBe("GRACE");
      expect(graced.grace_ends_at!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    } finally {
      await second.close();
      await first.stop();
    }
  });
});
