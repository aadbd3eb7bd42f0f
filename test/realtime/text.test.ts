/**
 * What socket text may contain (src/text.ts): NUL and lone surrogates are refused before the
 * ack (what is acked, broadcast and stored is one string), and chat and moderation reasons refuse
 * control characters and bidi overrides; everything else is posted exactly as sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "../helpers/app.js";
import { transports } from "../helpers/clients.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t?.stop());

const REFUSED: [string, string, RegExp][] = [
  ["a NUL", "a\u0000b", /NUL/],
  ["a lone surrogate", "x\ud800y", /lone surrogate/],
  ["a right-to-left override", "gnp.exe\u202Etxt", /bidirectional/],
  ["a bidi isolate", "a\u2066b", /bidirectional/],
  ["a control character", "bell\u0007", /control characters/],
];
const POSTED = ["tabs\tand\nlines", "emoji 👨‍👩‍👧 with joiners", "עברית\u200Fשלום", "plain"];

describe.each(transports)("socket text over %s", (_name, connect) => {
  it("refuses NUL, lone surrogates, control characters and bidi overrides with VALIDATION_FAILED; nothing is stored", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    for (const [label, text, reason] of REFUSED) {
      client.send({ type: "CHAT_MESSAGE", message: text });
      const error = await client.waitFor("ERROR");
      expect(error.code, label).toBe("VALIDATION_FAILED");
      expect(error.message, label).toMatch(reason);
    }
    const stored = await t.app.database.db.selectFrom("chat_messages").select("message").where("room_id", "=", room.room_id).execute();
    expect(stored).toEqual([]);
  });

  it("posts other text exactly as sent: acked, broadcast and stored alike", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    for (const text of POSTED) {
      client.send({ type: "CHAT_MESSAGE", message: text });
      expect((await client.waitFor("CHAT_MESSAGE")).message).toBe(text);
    }
    const stored = await t.app.database.db
      .selectFrom("chat_messages")
      .select("message")
      .where("room_id", "=", room.room_id)
      .orderBy("created_at")
      .execute();
    expect(stored.map((r) => r.message)).toEqual(POSTED);
  });

  it("a moderation reason follows the chat policy", async () => {
    const host = await t.api.register();
    const room = await t.api.createRoom(host.token);
    const guest = await t.api.guest("Target");
    await t.api.join(guest.token, room.code);
    const client = connect(t.baseUrl, room.code, host.token);
    await client.drainJoin();
    client.send({ type: "MUTE_USER", user_id: guest.id, reason: "spam\u202Emaps" });
    expect(await client.waitFor("ERROR")).toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringMatching(/reason .*bidirectional/),
    });
    client.send({ type: "KICK_USER", user_id: guest.id, reason: "x\u0000" });
    expect(await client.waitFor("ERROR")).toMatchObject({ code: "VALIDATION_FAILED" });
  });
});
