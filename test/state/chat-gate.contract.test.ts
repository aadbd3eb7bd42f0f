/**
 * The chat gate contract, run against the in-memory and the Redis implementation. The gate reads
 * the mutes, so each subject is a gate with the mutes it reads (the same store, or prefix).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ChatGate, DUPLICATE_WINDOW_MS } from "../../src/state/chat-gate/chat-gate.js";
import { MemoryChatGate } from "../../src/state/chat-gate/memory-chat-gate.js";
import { RedisChatGate } from "../../src/state/chat-gate/redis-chat-gate.js";
import { MemoryMutes } from "../../src/state/mutes/memory-mutes.js";
import type { Mutes } from "../../src/state/mutes/mutes.js";
import { RedisMutes } from "../../src/state/mutes/redis-mutes.js";
import { contractRedis, implementations } from "../helpers/redis.js";
import { clockPasses } from "./clock.js";

const r = contractRedis("chat");
const subjects = implementations<{ gate: ChatGate; mutes: Mutes }>(
  r,
  () => {
    const mutes = new MemoryMutes();
    return { gate: new MemoryChatGate(mutes), mutes };
  },
  (client, prefix) => ({ gate: new RedisChatGate(client, prefix), mutes: new RedisMutes(client, prefix) }),
);

describe.each(subjects)("%s chat gate", (_name, make) => {
  it("limits chat to 5 per window then cools down", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    const verdicts = [];
    for (let i = 0; i < 7; i += 1) verdicts.push(await gate.check(room, user, `m${i}`));
    expect(verdicts).toEqual(["ok", "ok", "ok", "ok", "ok", "rate_limited", "rate_limited"]);
    expect(await gate.check(room, randomUUID(), "m0")).toBe("ok");
  });

  it("the limits are per room: a user limited in one room chats in another", async () => {
    const { gate } = make();
    const [room, other, user] = [randomUUID(), randomUUID(), randomUUID()];
    for (let i = 0; i < 6; i += 1) await gate.check(room, user, `m${i}`);
    expect(await gate.check(room, user, "still?")).toBe("rate_limited");
    expect(await gate.check(other, user, "m0")).toBe("ok");
  });

  it("concurrent chat from several connections never exceeds the limit", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => gate.check(room, user, `m${i}`)));
    expect(verdicts.filter((v) => v === "ok")).toHaveLength(5);
    expect(verdicts.filter((v) => v === "rate_limited")).toHaveLength(15);
  });

  it("refuses a repeat inside the duplicate window, even sent at once from two tabs", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    expect(await gate.check(room, user, "hi")).toBe("ok");
    expect(await gate.check(room, user, "hi")).toBe("duplicate");
    expect(await gate.check(room, user, "other")).toBe("ok");
    const [other] = [randomUUID()];
    const both = await Promise.all([gate.check(room, other, "same"), gate.check(room, other, "same")]);
    expect(both.sort()).toEqual(["duplicate", "ok"]);
  });

  it("accepts the same text again once the duplicate window is over", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    expect(await gate.check(room, user, "hi")).toBe("ok");
    const accepted = Date.now(); // the window began before this
    expect(await gate.check(room, user, "hi")).toBe("duplicate");
    await clockPasses(accepted + DUPLICATE_WINDOW_MS + 20, DUPLICATE_WINDOW_MS + 2000);
    expect(await gate.check(room, user, "hi")).toBe("ok");
  });

  it("refuses a muted user before the limiter counts the message", async () => {
    const { gate, mutes } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    await mutes.mute(room, user);
    expect(await mutes.isMuted(room, user)).toBe(true);
    for (let i = 0; i < 10; i += 1) expect(await gate.check(room, user, `m${i}`)).toBe("muted");
    await mutes.unmute(room, user);
    expect(await mutes.isMuted(room, user)).toBe(false);
    expect(await gate.check(room, user, "now I can")).toBe("ok");
    expect(await gate.check(room, randomUUID(), "a mute is per user")).toBe("ok");
    expect(await gate.check(randomUUID(), user, "and per room")).toBe("ok");
  });

  it("a timed mute refuses chat until its expiry, then lets it through (no unmute needed); a re-mute replaces it", async () => {
    const { gate, mutes } = make();
    const [room, user, other] = [randomUUID(), randomUUID(), randomUUID()];
    const until = Date.now() + 400;
    await mutes.mute(room, user, until);
    await mutes.mute(room, other, Date.now() - 1); // already over (a restore never passes one, but harmless)
    expect(await mutes.isMuted(room, user)).toBe(true);
    expect(await gate.check(room, user, "too early")).toBe("muted");
    expect(await gate.check(room, other, "free")).toBe("ok");
    await clockPasses(until);
    expect(await gate.check(room, user, "free now")).toBe("ok");
    expect(await mutes.isMuted(room, user), "the gate saw it was over").toBe(false);
    // Re-muted for good, then timed again: the latest mute is the one in force.
    await mutes.mute(room, user);
    expect(await gate.check(room, user, "again")).toBe("muted");
    await mutes.mute(room, user, Date.now() + 60_000);
    expect(await mutes.isMuted(room, user)).toBe(true);
    expect(await gate.check(room, user, "still")).toBe("muted");
    await mutes.mute(room, user, Date.now() - 1);
    expect(await gate.check(room, user, "replaced by an expired one")).toBe("ok");
  });

  it("a refunded message (not posted after all) counts for nothing: the same text, the sixth message and the next slow-mode one pass", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 5; i += 1) expect(await gate.check(room, user, `m${i}`)).toBe("ok");
    await gate.refund(room, user, "m4");
    expect(await gate.check(room, user, "m4")).toBe("ok");
    expect(await gate.check(room, user, "one too many")).toBe("rate_limited");
    // The remembered text is only forgotten when it is still the refunded one.
    const other = randomUUID();
    expect(await gate.check(room, other, "first")).toBe("ok");
    expect(await gate.check(room, other, "second")).toBe("ok");
    await gate.refund(room, other, "first");
    expect(await gate.check(room, other, "second")).toBe("duplicate");
    // Slow mode: the refused-after-all message does not start a period.
    const slow = randomUUID();
    expect(await gate.check(room, slow, "s1", 60_000)).toBe("ok");
    await gate.refund(room, slow, "s1");
    expect(await gate.check(room, slow, "s1", 60_000)).toBe("ok");
    expect(await gate.check(room, slow, "s2", 60_000)).toBe("slow_mode");
  });

  it("slow mode: one accepted message per period, refusals not counted, atomic across tabs", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    const tabs = await Promise.all(Array.from({ length: 10 }, (_, i) => gate.check(room, user, `m${i}`, 60_000)));
    expect(tabs.filter((v) => v === "ok")).toHaveLength(1);
    expect(tabs.filter((v) => v === "slow_mode")).toHaveLength(9);
    // Without slow mode (it was turned off) the user is only under the usual limiter, which
    // counted one message so far: four more pass.
    const after = [];
    for (let i = 0; i < 5; i += 1) after.push(await gate.check(room, user, `n${i}`));
    expect(after).toEqual(["ok", "ok", "ok", "ok", "rate_limited"]);
    expect(await gate.check(room, randomUUID(), "someone else", 60_000)).toBe("ok");
  });

  it("slow mode: the next message passes once the period is over", async () => {
    const { gate } = make();
    const [room, user] = [randomUUID(), randomUUID()];
    expect(await gate.check(room, user, "s1", 300)).toBe("ok");
    const accepted = Date.now(); // the period began before this
    expect(await gate.check(room, user, "s2", 300)).toBe("slow_mode");
    await clockPasses(accepted + 320);
    expect(await gate.check(room, user, "s2", 300)).toBe("ok");
    expect(await gate.check(room, user, "s3", 300)).toBe("slow_mode");
  });
});
