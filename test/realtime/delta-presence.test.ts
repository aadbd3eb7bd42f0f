/**
 * Delta presence (`presence=delta` on the raw handshake, `auth.presence: "delta"` on Socket.IO):
 * the roster once on join, paged, then only the entries that change; and the capped roster of
 * the other clients in a room bigger than ROSTER_LEGACY_MAX. Small limits make a small room big.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Roster } from "../../packages/client/src/roster.js";
import { RoomRoster } from "../../src/realtime/roster.js";
import { startApp, type TestApp } from "../helpers/app.js";
import { type Message, rawClient, sioClient, type TestClient } from "../helpers/clients.js";
import { guest, party, registered } from "../helpers/party.js";

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ ROSTER_PAGE_SIZE: "2", ROSTER_LEGACY_MAX: "3" });
});
afterAll(() => t?.stop());

type DeltaFactory = (baseUrl: string, code: string, token: string) => TestClient;
const deltaTransports: [string, DeltaFactory][] = [
  ["ws", (b, c, token) => rawClient(b, c, token, { query: `?token=${encodeURIComponent(token)}&presence=delta` })],
  ["socket.io", (b, c, token) => sioClient(b, c, token, { auth: { presence: "delta" } })],
];

/** A public room with its host and four guests (five entries), nobody connected. */
const bigRoom = () => party(t, { members: { ann: guest("Ann"), bob: guest("Bob"), cat: guest("Cat"), dan: guest("Dan") } });

/** Reads a delta joiner's join: CHAT_HISTORY, PLAYBACK_STATE, then the roster pages until `total`. */
async function joinSnapshot(client: TestClient): Promise<{ first: Message; pages: Message[]; roster: Roster }> {
  const [, , first] = await client.drainJoin();
  const roster = new Roster();
  roster.apply("ROOM_PARTICIPANTS", first!);
  const pages: Message[] = [];
  while (!roster.complete) {
    const page = await client.next("ROSTER_PAGE");
    pages.push(page);
    roster.apply("ROSTER_PAGE", page);
  }
  return { first: first!, pages, roster };
}

describe.each(deltaTransports)("delta presence over %s", (_name, connectDelta) => {
  it("the joiner's roster comes in pages of ROSTER_PAGE_SIZE up to `total`, in join order, the host first", async () => {
    const p = await bigRoom();
    const client = connectDelta(t.baseUrl, p.room.code, p.host.token);
    const { first, pages, roster } = await joinSnapshot(client);
    expect(first).toMatchObject({ type: "ROOM_PARTICIPANTS", total: 5, online: 1, host: p.host.display_name });
    expect(first.members).toHaveLength(2);
    expect(pages.map((page) => [page.offset, page.members.length, page.total])).toEqual([
      [2, 2, 5],
      [4, 1, 5],
    ]);
    expect(roster.members.map((m) => m.display_name)).toEqual([p.host.display_name, "Ann", "Bob", "Cat", "Dan"]);
    expect(roster.host).toMatchObject({ id: p.host.id, online: true });
    expect(roster.online).toBe(1);
  });

  it("then gets USER_JOINED / USER_LEFT with the member's entry, never a whole roster", async () => {
    const p = await bigRoom();
    const client = connectDelta(t.baseUrl, p.room.code, p.host.token);
    const { roster } = await joinSnapshot(client);
    const ann = rawClient(t.baseUrl, p.room.code, p.ann.token);
    await ann.drainJoin();
    const joined = await client.next("USER_JOINED");
    expect(joined).toMatchObject({
      user: "Ann",
      user_id: p.ann.id,
      member: { id: p.ann.id, display_name: "Ann", online: true, is_host: false, is_cohost: false },
      online: 2,
    });
    roster.apply("USER_JOINED", joined);
    await ann.close();
    const left = await client.next("USER_LEFT");
    expect(left).toMatchObject({ user_id: p.ann.id, member: { id: p.ann.id, online: false }, online: 1 });
    roster.apply("USER_LEFT", left);
    expect(roster.get(p.ann.id)).toMatchObject({ online: false });
    // The paced roster run for the legacy client went out too; none of it reached this client.
    await client.expectNone(300, "ROOM_PARTICIPANTS");
  });

  it("a role change is a ROSTER_UPDATE of the member's entry", async () => {
    const p = await party(t, { members: { ann: guest("Ann"), bob: registered() } });
    const client = connectDelta(t.baseUrl, p.room.code, p.host.token);
    await joinSnapshot(client);
    const set = await t.api.post(
      "/api/rooms/cohosts/",
      { room_id: p.room.room_id, user_id: p.bob.id, cohost: true },
      { token: p.host.token },
    );
    expect(set.status).toBe(200);
    const update = await client.waitFor("ROSTER_UPDATE");
    expect(update).toEqual({
      type: "ROSTER_UPDATE",
      members: [expect.objectContaining({ id: p.bob.id, is_cohost: true })],
      removed: [],
      online: 1,
    });
  });

  it("an approval reaches the roster as a ROSTER_UPDATE (the paced run reconciles with the database)", async () => {
    const p = await party(t, {
      room: { is_private: true, entry_mode: "APPROVAL" },
      members: { ann: guest("Ann"), bob: guest("Bob"), cat: guest("Cat") },
    });
    const client = connectDelta(t.baseUrl, p.room.code, p.host.token);
    const { roster } = await joinSnapshot(client);
    const asker = await t.api.guest("Asker");
    await t.api.join(asker.token, p.room.code);
    const approved = await t.api.post("/api/rooms/approve/", { room_id: p.room.room_id, user_id: asker.id }, { token: p.host.token });
    expect(approved.status).toBe(200);
    const added = await client.waitFor("ROSTER_UPDATE");
    expect(added).toMatchObject({ members: [{ id: asker.id, display_name: "Asker", online: false }], removed: [] });
    roster.apply("ROSTER_UPDATE", added);
    expect(roster.size).toBe(5);

    expect(roster.members.map((m) => m.display_name)).toEqual([p.host.display_name, "Ann", "Bob", "Cat", "Asker"]);
  });

  it("a later joiner's shared snapshot comes with what changed since it was built, and adds up to the truth", async () => {
    const p = await bigRoom();
    const first = connectDelta(t.baseUrl, p.room.code, p.host.token);
    await joinSnapshot(first);
    // Changes after the first snapshot: two legacy members come online.
    for (const member of [p.ann, p.cat]) {
      const legacy = sioClient(t.baseUrl, p.room.code, member.token);
      await legacy.drainJoin();
      await first.waitFor("USER_JOINED");
    }
    const second = connectDelta(t.baseUrl, p.room.code, p.bob.token);
    const { roster } = await joinSnapshot(second);
    if (roster.online !== 4) roster.apply("ROSTER_UPDATE", await second.next("ROSTER_UPDATE"));
    expect(roster.online).toBe(4);
    expect(roster.members.filter((m) => m.online).map((m) => m.display_name)).toEqual([p.host.display_name, "Ann", "Bob", "Cat"]);
    expect(roster.get(p.dan.id)).toMatchObject({ online: false });
  });
});

describe("clients without delta presence in a room above ROSTER_LEGACY_MAX", () => {
  it("get a capped roster: the host, then who is online, then the others; `total` counts everyone", async () => {
    const p = await bigRoom();
    const host = rawClient(t.baseUrl, p.room.code, p.host.token);
    await host.drainJoin();
    const dan = rawClient(t.baseUrl, p.room.code, p.dan.token);
    const roster = (await dan.drainJoin())[2]!;
    expect(roster).toMatchObject({ total: 5, online: 2, host: p.host.display_name });
    expect(roster.members.map((m: { display_name: string }) => m.display_name)).toEqual([p.host.display_name, "Dan", "Ann"]);
    expect(roster.participants).toEqual([p.host.display_name, "Dan", "Ann"]);
    // The host's paced roster after Dan's join is capped the same way, then USER_JOINED.
    const update = await host.next("ROOM_PARTICIPANTS");
    expect(update).toMatchObject({ total: 5, online: 2 });
    expect(update.members).toHaveLength(3);
    expect(await host.next("USER_JOINED")).toMatchObject({ user_id: p.dan.id });
  });
});

describe("RoomRoster (the in-memory roster)", () => {
  const who = { hostId: "h", roles: { cohosts: ["b"] } };
  const rows = (...ids: string[]) => ids.map((id) => ({ id, display_name: id.toUpperCase() }));

  it("a reconcile says what the read changed: renames, presence, additions and removals", () => {
    const roster = new RoomRoster({ pageSize: 2, legacyMax: 10 });
    roster.load(rows("h", "a", "b"), new Set(["h"]));
    expect(roster.reconcile(rows("h", "a", "b"), new Set(["h"]), who)).toEqual({ members: [], removed: [] });
    const change = roster.reconcile([...rows("h", "b"), { id: "c", display_name: "Cee" }], new Set(["h", "c"]), who);
    expect(change.removed).toEqual(["a"]);
    expect(change.members).toEqual([{ id: "c", display_name: "Cee", is_host: false, is_cohost: false, online: true }]);
    expect(roster.members(who).map((m) => m.id)).toEqual(["h", "b", "c"]);
  });

  it("changes before the first load wait for it; the shared snapshot is rebuilt once changes pile up", () => {
    const roster = new RoomRoster({ pageSize: 2, legacyMax: 10 });
    roster.join("a", "A");
    roster.load(rows("h", "a"), new Set());
    expect(roster.onlineCount).toBe(1);
    const first = roster.snapshot(who);
    expect(first.since).toBeUndefined();
    expect(roster.snapshot(who).first).toBe(first.first); // shared, not rebuilt
    roster.leave("a");
    expect(roster.snapshot(who).since).toEqual({
      type: "ROSTER_UPDATE",
      members: [expect.objectContaining({ id: "a", online: false })],
      removed: [],
      online: 0,
    });
    for (let i = 0; i < 40; i += 1) roster.join(`u${i}`, `U${i}`);
    const rebuilt = roster.snapshot(who);
    expect(rebuilt.first).not.toBe(first.first);
    expect(rebuilt.since).toBeUndefined();
    expect(rebuilt.first.total).toBe(42);
    expect(rebuilt.pages).toHaveLength(20);
  });
});
