/** One contract, two implementations: in-memory and Redis realtime state. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryRealtimeState, type RealtimeState } from "../../src/state/realtime-state.js";
import { RedisRealtimeState } from "../../src/state/redis-realtime-state.js";
import { contractRedis, implementations } from "../helpers/redis.js";

const r = contractRedis("state");
const subjects = implementations<RealtimeState>(r, () => new MemoryRealtimeState(), (client, prefix) => new RedisRealtimeState(client, prefix));

describe.each(subjects)("%s realtime state", (_name, make) => {
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
  });

  it("reports a room whose host is away as hostOnline=false", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    await s.connect(room, host, user, "c1");
    expect((await s.roomPresence([room, randomUUID()])).get(room)).toEqual({ viewers: 1, hostOnline: false });
  });

  it("limits chat to 5 per window then cools down", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    const verdicts = [];
    for (let i = 0; i < 7; i += 1) verdicts.push(await s.checkChat(room, user, `m${i}`));
    expect(verdicts).toEqual(["ok", "ok", "ok", "ok", "ok", "rate_limited", "rate_limited"]);
    expect(await s.checkChat(room, randomUUID(), "m0")).toBe("ok");
  });

  it("concurrent chat from several connections never exceeds the limit", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => s.checkChat(room, user, `m${i}`)));
    expect(verdicts.filter((v) => v === "ok")).toHaveLength(5);
  });

  it("refuses a repeat inside the duplicate window, even sent at once from two tabs", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    expect(await s.checkChat(room, user, "hi")).toBe("ok");
    expect(await s.checkChat(room, user, "hi")).toBe("duplicate");
    expect(await s.checkChat(room, user, "other")).toBe("ok");
    const [other] = [randomUUID()];
    const both = await Promise.all([s.checkChat(room, other, "same"), s.checkChat(room, other, "same")]);
    expect(both.sort()).toEqual(["duplicate", "ok"]);
  });

  it("refuses a muted user before the limiter counts the message", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    await s.setMuted(room, user, true);
    expect(await s.isMuted(room, user)).toBe(true);
    for (let i = 0; i < 10; i += 1) expect(await s.checkChat(room, user, `m${i}`)).toBe("muted");
    await s.setMuted(room, user, false);
    expect(await s.isMuted(room, user)).toBe(false);
    expect(await s.checkChat(room, user, "now I can")).toBe("ok");
  });

  it("a timed mute refuses chat until its expiry, then lets it through (no unmute needed); a re-mute replaces it", async () => {
    const s = make();
    const [room, user, other] = [randomUUID(), randomUUID(), randomUUID()];
    await s.setMuted(room, user, true, Date.now() + 150);
    await s.setMuted(room, other, true, Date.now() - 1); // already over (a restore never passes one, but harmless)
    expect(await s.isMuted(room, user)).toBe(true);
    expect(await s.checkChat(room, user, "too early")).toBe("muted");
    expect(await s.checkChat(room, other, "free")).toBe("ok");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await s.isMuted(room, user)).toBe(false);
    expect(await s.checkChat(room, user, "free now")).toBe("ok");
    // Re-muted for good, then timed again: the latest mute is the one in force.
    await s.setMuted(room, user, true);
    expect(await s.checkChat(room, user, "again")).toBe("muted");
    await s.setMuted(room, user, true, Date.now() + 60_000);
    expect(await s.isMuted(room, user)).toBe(true);
    await s.setMuted(room, user, true, Date.now() - 1);
    expect(await s.checkChat(room, user, "replaced by an expired one")).toBe("ok");
  });

  it("a refunded message (not posted after all) counts for nothing: the same text, the sixth message and the next slow-mode one pass", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 5; i += 1) expect(await s.checkChat(room, user, `m${i}`)).toBe("ok");
    await s.refundChat(room, user, "m4");
    expect(await s.checkChat(room, user, "m4")).toBe("ok");
    expect(await s.checkChat(room, user, "one too many")).toBe("rate_limited");
    // The remembered text is only forgotten when it is still the refunded one.
    const other = randomUUID();
    expect(await s.checkChat(room, other, "first")).toBe("ok");
    expect(await s.checkChat(room, other, "second")).toBe("ok");
    await s.refundChat(room, other, "first");
    expect(await s.checkChat(room, other, "second")).toBe("duplicate");
    // Slow mode: the refused-after-all message does not start a period.
    const slow = randomUUID();
    expect(await s.checkChat(room, slow, "s1", 60_000)).toBe("ok");
    await s.refundChat(room, slow, "s1");
    expect(await s.checkChat(room, slow, "s1", 60_000)).toBe("ok");
    expect(await s.checkChat(room, slow, "s2", 60_000)).toBe("slow_mode");
  });

  it("slow mode: one accepted message per period, refusals not counted, atomic across tabs", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    const tabs = await Promise.all(Array.from({ length: 10 }, (_, i) => s.checkChat(room, user, `m${i}`, 60_000)));
    expect(tabs.filter((v) => v === "ok")).toHaveLength(1);
    expect(tabs.filter((v) => v === "slow_mode")).toHaveLength(9);
    // Without slow mode (it was turned off) the user is only under the usual limiter, which
    // counted one message so far: four more pass.
    const after = [];
    for (let i = 0; i < 5; i += 1) after.push(await s.checkChat(room, user, `n${i}`));
    expect(after).toEqual(["ok", "ok", "ok", "ok", "rate_limited"]);
    expect(await s.checkChat(room, randomUUID(), "someone else", 60_000)).toBe("ok");
  });

  it("claims a command id once per room, atomically; a released id can be claimed again", async () => {
    const s = make();
    const [room, other] = [randomUUID(), randomUUID()];
    const claims = await Promise.all(Array.from({ length: 8 }, () => s.claimCommand(room, "cmd-1", 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await s.claimCommand(other, "cmd-1", 60_000), "another room").toBe(true);
    await s.releaseCommand(room, "cmd-1");
    expect(await s.claimCommand(room, "cmd-1", 60_000)).toBe(true);
    expect(await s.claimCommand(room, "cmd-2", 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await s.claimCommand(room, "cmd-2", 60_000), "expired").toBe(true);
  });

  it("keeps the latest sync report per user and counts corrections, per room, until the TTL", async () => {
    const s = make();
    const [room, other, a, b] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const record = (drift: number, buffering = false) => ({ drift, rttMs: 40, buffering, at: 1_700_000_000_000, displayName: "Zoë \"Z\"" });
    expect(await s.syncReports(room)).toEqual({ records: new Map(), corrections: 0 });
    await s.recordSync(room, a, record(-3.25), true, 60_000);
    await s.recordSync(room, a, record(-4.5), true, 60_000);
    await Promise.all([s.recordSync(room, b, record(0.5, true), false, 60_000), s.recordSync(other, b, record(9), true, 60_000)]);
    expect(await s.syncReports(room)).toEqual({ records: new Map([[a, record(-4.5)], [b, record(0.5, true)]]), corrections: 2 });
    expect((await s.syncReports(other)).corrections).toBe(1);
    await s.recordSync(other, a, record(1), false, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await s.syncReports(other), "expired with its last report").toEqual({ records: new Map(), corrections: 0 });
  });

  it("clearRoom forgets presence, mutes and sync reports", async () => {
    const s = make();
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    await s.connect(room, host, user, "c1");
    await s.setMuted(room, user, true);
    await s.recordSync(room, user, { drift: 1, rttMs: 1, buffering: false, at: 1, displayName: "U" }, true, 60_000);
    await s.clearRoom(room);
    expect((await s.roomPresence([room])).has(room)).toBe(false);
    expect(await s.isMuted(room, user)).toBe(false);
    expect(await s.syncReports(room)).toEqual({ records: new Map(), corrections: 0 });
  });
});

describe.runIf(Boolean(r.url))("redis presence across instances", () => {
  it("a dead instance's connections are reaped once by a live peer, reporting users who left", async () => {
    const dead = new RedisRealtimeState(r.client!, r.prefix, { instanceTtlMs: 300, heartbeatMs: 100 });
    const left: string[] = [];
    const live = new RedisRealtimeState(r.client!, r.prefix, { instanceTtlMs: 300, heartbeatMs: 100 });
    const other = new RedisRealtimeState(r.client!, r.prefix, { instanceTtlMs: 300, heartbeatMs: 100 });
    await dead.start(async () => {});
    await live.start(async (r, u) => void left.push(`${r}:${u}`));
    await other.start(async (r, u) => void left.push(`${r}:${u}`));
    const [room, host, user] = [randomUUID(), randomUUID(), randomUUID()];
    await dead.connect(room, host, host, "h1");
    await dead.connect(room, host, user, "u1");
    await live.connect(room, host, user, "u2"); // the user also has a tab on a live instance
    await dead.close(); // stops heartbeating, as kill -9 would
    const deadline = Date.now() + 5000;
    const mine = () => left.filter((entry) => entry.startsWith(room));
    while (mine().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await live.reapDeadPeers();
    await other.reapDeadPeers();
    // (Other entries are connections earlier cases left on never-started instances: reaped too.)
    expect(mine()).toEqual([`${room}:${host}`]); // the user still has a live tab
    expect((await live.roomPresence([room])).get(room)).toEqual({ viewers: 1, hostOnline: false });
    await live.close({ forget: true });
    await other.close({ forget: true });
  });
  it("puts back presence Redis lost (restart without persistence, flush), once, and says so", async () => {
    const prefix2 = `${r.prefix}lost:`;
    let restoredCalls = 0;
    const state = new RedisRealtimeState(r.client!, prefix2, { heartbeatMs: 60_000 });
    await state.start(async () => {}, async () => void (restoredCalls += 1));
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
});
