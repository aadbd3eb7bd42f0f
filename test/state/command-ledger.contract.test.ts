/** The command ledger contract, run against the in-memory and the Redis implementation. */
import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import type { CommandLedger } from "../../src/state/command-ledger/command-ledger.js";
import { MemoryCommandLedger } from "../../src/state/command-ledger/memory-command-ledger.js";
import { RedisCommandLedger } from "../../src/state/command-ledger/redis-command-ledger.js";
import { contractRedis, implementations } from "../helpers/redis.js";

const r = contractRedis("commands");
const subjects = implementations<CommandLedger>(
  r,
  () => new MemoryCommandLedger(),
  (client, prefix) => new RedisCommandLedger(client, prefix),
);

describe.each(subjects)("%s command ledger", (_name, make) => {
  it("claims a command id once per room, atomically; a released id can be claimed again", async () => {
    const s = make();
    const [room, other] = [randomUUID(), randomUUID()];
    const claims = await Promise.all(Array.from({ length: 8 }, () => s.claim(room, "cmd-1", 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await s.claim(room, "cmd-1", 60_000), "still claimed").toBe(false);
    expect(await s.claim(other, "cmd-1", 60_000), "another room").toBe(true);
    await s.release(room, "cmd-1");
    expect(await s.claim(room, "cmd-1", 60_000)).toBe(true);
    expect(await s.claim(other, "cmd-1", 60_000), "the release was for one room only").toBe(false);
  });

  it("a claim lapses after its TTL, and is then claimable once", async () => {
    const s = make();
    const room = randomUUID();
    expect(await s.claim(room, "cmd-2", 1)).toBe(true);
    expect(await s.claim(room, "cmd-3", 60_000)).toBe(true);
    await vi.waitFor(async () => expect(await s.claim(room, "cmd-2", 60_000), "expired").toBe(true), { timeout: 2000, interval: 10 });
    expect(await s.claim(room, "cmd-2", 60_000), "claimed again, for the new TTL").toBe(false);
    expect(await s.claim(room, "cmd-3", 60_000), "an unexpired claim is kept while others lapse").toBe(false);
    expect(await s.claim(room, "cmd-4", 1)).toBe(true);
    await vi.waitFor(
      async () => {
        const claims = await Promise.all(Array.from({ length: 8 }, () => s.claim(room, "cmd-4", 60_000)));
        expect(claims.filter(Boolean), "once lapsed, one of concurrent claims wins").toHaveLength(1);
      },
      { timeout: 2000, interval: 10 },
    );
  });

  it("releasing an id nobody claimed is harmless", async () => {
    const s = make();
    const room = randomUUID();
    await s.release(room, "never");
    expect(await s.claim(room, "never", 60_000)).toBe(true);
    await s.release(room, "never");
    await s.release(room, "never");
    expect(await s.claim(room, "never", 60_000)).toBe(true);
  });
});
