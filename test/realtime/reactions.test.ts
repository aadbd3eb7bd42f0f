/** Reactions over both transports: everyone sees them, nothing keeps them, a per-user budget and mutes hold. */
import { REACTIONS } from "@streamit/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REACTION_RULE } from "../../src/reactions/messages.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";
import { guest, party, type Transport } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

/** A public room: the host and the guest "Fan" (`viewer`), both over `connect`; the host has seen Fan join. */
const hostAndFan = (connect: Transport) => party(t, { transport: connect, members: { viewer: guest("Fan") }, hostSeesJoin: true });

describe.each(transports)("reactions over %s", (_name, connect) => {
  it("go to everyone, the sender included, with who sent them and when; nothing stores them", async () => {
    const { room, viewer, hostClient, viewerClient } = await hostAndFan(connect);
    const before = Date.now();
    viewerClient.send({ type: "REACTION", emoji: "🎉" });
    const echo = await viewerClient.waitFor("REACTION");
    expect(echo).toEqual({ type: "REACTION", user_id: viewer.id, user: "Fan", emoji: "🎉", server_time: expect.any(Number) });
    expect(echo.server_time).toBeGreaterThanOrEqual(before);
    expect(await hostClient.waitFor("REACTION")).toEqual(echo);
    // Not chat: a joiner's history has none of it, and the timeline has no entry for it.
    const late = connect(t.baseUrl, room.code, viewer.token);
    const join = await late.drainJoin();
    expect(join.find((m) => m.type === "CHAT_HISTORY")).toEqual({ type: "CHAT_HISTORY", messages: [] });
    const events = await t.app.database.db.selectFrom("room_events").select("event").where("room_id", "=", room.room_id).execute();
    expect(events.map((e) => e.event).filter((e) => e.includes("reaction"))).toEqual([]);
  });

  it("refuses anything outside the fixed set", async () => {
    const { hostClient, viewerClient } = await hostAndFan(connect);
    for (const emoji of ["💩", "<b>hi</b>", "", 7]) {
      viewerClient.send({ type: "REACTION", emoji });
      expect(await viewerClient.waitFor("ERROR")).toMatchObject({ code: "VALIDATION_FAILED" });
    }
    viewerClient.send({ type: "REACTION", emoji: REACTIONS[0] });
    expect((await hostClient.waitFor("REACTION")).emoji).toBe(REACTIONS[0]);
  });

  it("counts each user's reactions across their tabs: past the budget, RATE_LIMITED and nobody sees more", async () => {
    const { host, room, viewer, hostClient, viewerClient } = await hostAndFan(connect);
    const tab = connect(t.baseUrl, room.code, viewer.token);
    await tab.drainJoin();
    for (let i = 0; i < REACTION_RULE.limit; i += 1) {
      (i % 2 === 0 ? viewerClient : tab).send({ type: "REACTION", emoji: "👏" });
      await hostClient.waitFor("REACTION");
    }
    tab.send({ type: "REACTION", emoji: "👏" });
    expect(await tab.waitFor("ERROR")).toMatchObject({ code: "RATE_LIMITED", message: expect.stringMatching(/^Too many reactions/) });
    // Someone else's budget is their own.
    hostClient.send({ type: "REACTION", emoji: "🔥" });
    expect(await hostClient.waitFor("REACTION")).toMatchObject({ emoji: "🔥", user_id: host.id });
  });

  it("a muted member may not react until unmuted", async () => {
    const { viewer, hostClient, viewerClient } = await hostAndFan(connect);
    hostClient.send({ type: "MUTE_USER", user_id: viewer.id });
    await viewerClient.waitFor("USER_MUTED");
    viewerClient.send({ type: "REACTION", emoji: "😂" });
    expect(await viewerClient.waitFor("ERROR")).toEqual({ type: "ERROR", code: "MUTED", message: "You are muted in this room" });
    hostClient.send({ type: "UNMUTE_USER", user_id: viewer.id });
    await viewerClient.waitFor("USER_MUTED");
    viewerClient.send({ type: "REACTION", emoji: "😂" });
    expect((await hostClient.waitFor("REACTION")).emoji).toBe("😂");
  });
});
