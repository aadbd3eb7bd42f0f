/** The presence contract, run against the in-memory and the Redis implementation. */
import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { MemoryPresence } from "../../src/state/presence/memory-presence.js";
import type { Presence } from "../../src/state/presence/presence.js";
import { RedisPresence } from "../../src/state/presence/redis-presence.js";
import { contractRedis, implementations } from "../helpers/redis.js";

const r = contractRedis("presence");
const subjects = implementations<Presence>(
  r,
  () => new MemoryPresence(),
  (client, prefix) => new RedisPresence(client, prefix),
);

describe.each(subjects)("%s presence", (_name, make) => {
  it("counts users once across connections and reports first and last", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    expect(await s.connect(room, host, user, "c1")).toEqual({ firstForUser: true });
    expect(await s.connect(room, host, user, "c2")).toEqual({ firstForUser: false });
    expect(await s.connect(room, host, host, "c3")).toEqual({ firstForUser: true });
    expect((await s.roomPresence([room])).get(room)).toEqual({ viewers: 2, hostOnline: true });
    expect(await s.onlineUsers(room)).toEqual(new Set([user, host]));
    expect(await s.disconnect(room, user, "c1")).toEqual({ lastForUser: false });
    expect(await s.disconnect(room, user, "c1")).toEqual({ lastForUser: false }); // twice: no double count
    expect(await s.disconnect(room, user, "c2")).toEqual({ lastForUser: true });
    expect(await s.disconnect(room, host, "c3")).toEqual({ lastForUser: true });
    expect((await s.roomPresence([room])).has(room)).toBe(false);
    expect(await s.onlineUsers(room)).toEqual(new Set());
  });

  it("reports a room whose host is away as hostOnline=false", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    await s.connect(room, host, user, "c1");
    expect((await s.roomPresence([room, randomUUID()])).get(room)).toEqual({ viewers: 1, hostOnline: false });
  });

  it("reports several rooms at once, and nothing for no rooms", async () => {
    const s = make();
    const [a, b, empty, host] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await s.connect(a, host, host, "h");
    await s.connect(b, host, randomUUID(), "v1");
    await s.connect(b, host, randomUUID(), "v2");
    const presence = await s.roomPresence([a, empty, b]);
    expect(presence).toEqual(
      new Map([
        [a, { viewers: 1, hostOnline: true }],
        [b, { viewers: 2, hostOnline: false }],
      ]),
    );
    expect(await s.roomPresence([])).toEqual(new Map());
  });

  it("an unknown connection, user or room leaves nothing and is nobody's last", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    expect(await s.disconnect(randomUUID(), user, "c1")).toEqual({ lastForUser: false });
    await s.connect(room, host, user, "c1");
    expect(await s.disconnect(room, user, "other-tab")).toEqual({ lastForUser: false });
    expect(await s.disconnect(room, randomUUID(), "c1")).toEqual({ lastForUser: false });
    expect(await s.onlineUsers(room)).toEqual(new Set([user]));
  });

  it("onlineSince keeps when each user's first tab arrived, until their last one leaves", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    const before = Date.now();
    await s.connect(room, host, host, "h1");
    await s.connect(room, host, user, "u1");
    const after = Date.now();
    const since = await s.onlineSince(room);
    expect([...since.keys()].sort()).toEqual([host, user].sort());
    for (const at of since.values()) {
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after);
    }
    const userSince = since.get(user)!;
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(userSince));
    await s.connect(room, host, user, "u2"); // a second tab does not reset it
    expect((await s.onlineSince(room)).get(user)).toBe(userSince);
    await s.disconnect(room, user, "u1");
    await s.disconnect(room, user, "u2");
    expect(await s.onlineSince(room)).toEqual(new Map([[host, since.get(host)]]));
    await s.connect(room, host, user, "u3"); // back: a new presence, a new start
    expect((await s.onlineSince(room)).get(user)).toBeGreaterThan(userSince);
    expect(await s.onlineSince(randomUUID())).toEqual(new Map());
  });

  it("setHost makes presence count the new host", async () => {
    const s = make();
    const [room, host, heir] = [randomUUID(), randomUUID(), randomUUID()];
    await s.connect(room, host, heir, "c1");
    expect((await s.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: false });
    await s.setHost(room, heir);
    expect((await s.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: true });
    await s.setHost(room, host);
    expect((await s.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: false });
  });

  it("concurrent tabs: exactly one is the user's first and exactly one their last", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    const tabs = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const joined = await Promise.all(tabs.map((c) => s.connect(room, host, user, c)));
    expect(joined.filter((j) => j.firstForUser)).toHaveLength(1);
    expect((await s.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: false });
    const left = await Promise.all(tabs.map((c) => s.disconnect(room, user, c)));
    expect(left.filter((l) => l.lastForUser)).toHaveLength(1);
    expect((await s.roomPresence([room])).has(room)).toBe(false);
  });

  it("clearRoom forgets the room's presence and no other room's", async () => {
    const s = make();
    const [room, other, host, user] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await s.connect(room, host, host, "h1");
    await s.connect(room, host, user, "u1");
    await s.connect(other, host, user, "u2");
    await s.clearRoom(room);
    expect((await s.roomPresence([room])).has(room)).toBe(false);
    expect(await s.onlineUsers(room)).toEqual(new Set());
    expect(await s.onlineSince(room)).toEqual(new Map());
    expect(await s.onlineUsers(other)).toEqual(new Set([user]));
  });
});

describe.runIf(Boolean(r.url))("redis presence across instances", () => {
  const options = { instanceTtlMs: 300, heartbeatMs: 100 };

  it("a dead instance's connections are reaped once by a live peer, reporting users who left", async () => {
    const prefix = `${r.prefix}reap:`;
    const dead = new RedisPresence(r.client!, prefix, options);
    const left: string[] = [];
    const live = new RedisPresence(r.client!, prefix, options);
    const other = new RedisPresence(r.client!, prefix, options);
    await dead.start(async () => {});
    await live.start(async (room, user) => void left.push(`${room}:${user}`));
    await other.start(async (room, user) => void left.push(`${room}:${user}`));
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    await dead.connect(room, host, host, "h1");
    await dead.connect(room, host, user, "u1");
    await live.connect(room, host, user, "u2"); // the user also has a tab on a live instance
    await dead.close(); // stops heartbeating, as kill -9 would
    // The live peers' own heartbeats find the dead one once its TTL lapses.
    await vi.waitFor(() => expect(left).toContain(`${room}:${host}`), { timeout: 5000, interval: 50 });
    await live.reapDeadPeers();
    await other.reapDeadPeers();
    expect(left, "reported once, and not the user: they still have a live tab").toEqual([`${room}:${host}`]);
    expect((await live.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: false });
    expect(Number(await r.client!.sIsMember(`${prefix}rt:instances`, dead.instanceId)), "the dead instance is forgotten").toBe(0);
    await live.close({ forget: true });
    await other.close({ forget: true });
    expect((await other.roomPresence([room])).has(room)).toBe(false);
  });

  it("a live peer's connections are never reaped", async () => {
    const prefix = `${r.prefix}alive:`;
    const stale: string[] = [];
    const a = new RedisPresence(r.client!, prefix, { instanceTtlMs: 60_000, heartbeatMs: 60_000 });
    const b = new RedisPresence(r.client!, prefix, { instanceTtlMs: 60_000, heartbeatMs: 60_000 });
    await a.start(async (room, user) => void stale.push(`${room}:${user}`));
    await b.start(async (room, user) => void stale.push(`${room}:${user}`));
    const [room, host] = [randomUUID(), randomUUID()];
    await b.connect(room, host, host, "h1");
    await a.reapDeadPeers();
    expect(stale).toEqual([]);
    expect((await a.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: true });
    await b.close({ forget: true });
    expect((await a.roomPresence([room])).has(room), "close({forget}) removes its own presence").toBe(false);
    await a.close({ forget: true });
  });

  it("puts back presence Redis lost (restart without persistence, flush), once, and says so", async () => {
    const prefix2 = `${r.prefix}lost:`;
    let restoredCalls = 0;
    const state = new RedisPresence(r.client!, prefix2, { heartbeatMs: 60_000 });
    await state.start(
      async () => {},
      async () => void (restoredCalls += 1),
    );
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    await state.connect(room, host, host, "h1");
    await state.connect(room, host, user, "u1");
    await state.connect(room, host, user, "u2");
    await state.disconnect(room, user, "u2");
    expect(await state.restoreLost(), "nothing lost, nothing to do").toBe(0);
    for await (const keys of r.client!.scanIterator({ MATCH: `${prefix2}*`, COUNT: 500 })) if (keys.length) await r.client!.del(keys);
    expect((await state.roomPresence([room])).has(room)).toBe(false);
    expect(await state.restoreLost()).toBe(2);
    expect(await state.restoreLost(), "idempotent").toBe(0);
    expect(restoredCalls).toBe(1);
    expect((await state.roomPresence([room])).get(room)).toEqual({ viewers: 2, hostOnline: true });
    // Counts stay right afterwards: the user's last tab leaving is still its last.
    expect(await state.disconnect(room, user, "u1")).toEqual({ lastForUser: true });
    expect(await state.connect(room, host, user, "u3")).toEqual({ firstForUser: true });
    await state.close({ forget: true });
    expect((await state.roomPresence([room])).has(room)).toBe(false);
  });

  it("a restore puts back the host as setHost last left it", async () => {
    const prefix = `${r.prefix}host:`;
    const state = new RedisPresence(r.client!, prefix, { heartbeatMs: 60_000 });
    await state.start(async () => {});
    const [room, host, heir] = [randomUUID(), randomUUID(), randomUUID()];
    await state.connect(room, host, heir, "c1");
    await state.setHost(room, heir);
    for await (const keys of r.client!.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await r.client!.del(keys);
    expect(await state.restoreLost()).toBe(1);
    expect((await state.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: true });
    await state.close({ forget: true });
  });
});
