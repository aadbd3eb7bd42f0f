/**
 * The composites (MemoryRealtimeState, RedisRealtimeState): how they wire the families together.
 * Each family's own contract is in its *.contract.test.ts.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryRealtimeState, type RealtimeState } from "../../src/state/realtime-state.js";
import { RedisRealtimeState } from "../../src/state/redis-realtime-state.js";
import { contractRedis, implementations } from "../helpers/redis.js";

const r = contractRedis("state");
const subjects = implementations<RealtimeState>(
  r,
  () => new MemoryRealtimeState(),
  (client, prefix) => new RedisRealtimeState(client, prefix),
);
const empty = { records: new Map(), corrections: 0 };

describe.each(subjects)("%s realtime state", (_name, make) => {
  it("clearRoom forgets presence, mutes and sync reports, and no other room's", async () => {
    const s = make();
    const [room, other, host, user] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    for (const id of [room, other]) {
      await s.presence.connect(id, host, user, `c-${id}`);
      await s.mutes.mute(id, user);
      await s.syncRecords.record(id, user, { drift: 1, rttMs: 1, buffering: false, at: 1, displayName: "U" }, true, 60_000);
    }
    await s.clearRoom(room);
    expect((await s.presence.roomPresence([room])).has(room)).toBe(false);
    expect(await s.mutes.isMuted(room, user)).toBe(false);
    expect(await s.syncRecords.read(room)).toEqual(empty);
    expect((await s.presence.roomPresence([other])).get(other)).toEqual({ viewers: 1, hostOnline: false });
    expect(await s.mutes.isMuted(other, user)).toBe(true);
    expect((await s.syncRecords.read(other)).corrections).toBe(1);
  });

  it("the chat gate reads the composite's own mutes", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    await s.mutes.mute(room, user);
    expect(await s.chatGate.check(room, user, "hello")).toBe("muted");
    await s.mutes.unmute(room, user);
    expect(await s.chatGate.check(room, user, "hello")).toBe("ok");
  });

  it("start and close run the presence lifecycle", async () => {
    const s = make();
    const [room, host] = [randomUUID(), randomUUID()];
    await s.start(async () => {});
    await s.presence.connect(room, host, host, "h1");
    expect((await s.presence.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: true });
    await s.close({ forget: true });
  });
});

describe("memory realtime state", () => {
  it("clearRoom also frees the room's chat-gate entries and command claims", async () => {
    const s = new MemoryRealtimeState();
    const [room, other, user] = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of [room, other]) {
      for (let i = 0; i < 6; i += 1) await s.chatGate.check(id, user, `m${i}`);
      await s.commands.claim(id, "cmd", 60_000);
    }
    await s.clearRoom(room);
    expect(await s.chatGate.check(room, user, "m0")).toBe("ok");
    expect(await s.commands.claim(room, "cmd", 60_000)).toBe(true);
    expect(await s.chatGate.check(other, user, "m0")).toBe("rate_limited");
    expect(await s.commands.claim(other, "cmd", 60_000)).toBe(false);
  });
});

describe.runIf(Boolean(r.url))("redis realtime state", () => {
  it("its instance id, reaping and restoring are its presence's", async () => {
    const prefix = `${r.prefix}composite:`;
    let restored = 0;
    const s = new RedisRealtimeState(r.client!, prefix, { heartbeatMs: 60_000 });
    expect(s.instanceId).toBe(s.presence.instanceId);
    await s.start(
      async () => {},
      async () => void (restored += 1),
    );
    const [room, host] = [randomUUID(), randomUUID()];
    await s.presence.connect(room, host, host, "h1");
    await s.mutes.mute(room, host);
    for await (const keys of r.client!.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length) await r.client!.del(keys);
    expect(await s.presence.restoreLost()).toBe(1);
    await s.presence.reapDeadPeers();
    expect(restored).toBe(1);
    expect((await s.presence.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: true });
    expect(await s.mutes.isMuted(room, host), "mutes are the owner's to restore (onRestored)").toBe(false);
    await s.close({ forget: true });
    expect((await s.presence.roomPresence([room])).has(room)).toBe(false);
  });
});
