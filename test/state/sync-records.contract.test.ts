/** The sync records contract, run against the in-memory and the Redis implementation. */
import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { MemorySyncRecords } from "../../src/state/sync-records/memory-sync-records.js";
import { RedisSyncRecords } from "../../src/state/sync-records/redis-sync-records.js";
import type { SyncRecord, SyncRecords } from "../../src/state/sync-records/sync-records.js";
import { contractRedis, implementations } from "../helpers/redis.js";
import { clockPasses } from "./clock.js";

const r = contractRedis("sync");
const subjects = implementations<SyncRecords>(
  r,
  () => new MemorySyncRecords(),
  (client, prefix) => new RedisSyncRecords(client, prefix),
);
const empty = { records: new Map(), corrections: 0 };
const record = (drift: number, buffering = false): SyncRecord => ({
  drift,
  rttMs: 40,
  buffering,
  at: 1_700_000_000_000,
  displayName: 'Zoë "Z"',
});

describe.each(subjects)("%s sync records", (_name, make) => {
  it("keeps the latest sync report per user and counts corrections, per room, until the TTL", async () => {
    const s = make();
    const [room, other, a, b] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    expect(await s.read(room)).toEqual(empty);
    await s.record(room, a, record(-3.25), true, 60_000);
    await s.record(room, a, record(-4.5), true, 60_000);
    await Promise.all([s.record(room, b, record(0.5, true), false, 60_000), s.record(other, b, record(9), true, 60_000)]);
    expect(await s.read(room)).toEqual({
      records: new Map([
        [a, record(-4.5)],
        [b, record(0.5, true)],
      ]),
      corrections: 2,
    });
    expect((await s.read(other)).corrections).toBe(1);
    await s.record(other, a, record(1), false, 1);
    await vi.waitFor(async () => expect(await s.read(other), "expired with its last report").toEqual(empty), {
      timeout: 2000,
      interval: 10,
    });
    expect((await s.read(room)).records.size, "another room's TTL is its own").toBe(2);
  });

  it("each report pushes the whole room's expiry back", async () => {
    const s = make();
    const [room, a, b] = [randomUUID(), randomUUID(), randomUUID()];
    await s.record(room, a, record(1), true, 1000);
    const firstExpiry = Date.now() + 1000; // at the latest
    await clockPasses(firstExpiry - 400);
    await s.record(room, b, record(2), false, 1000);
    await clockPasses(firstExpiry + 50); // past the first report's own expiry
    expect(await s.read(room), "a's report lives as long as the room's last one").toEqual({
      records: new Map([
        [a, record(1)],
        [b, record(2)],
      ]),
      corrections: 1,
    });
    await vi.waitFor(async () => expect(await s.read(room)).toEqual(empty), { timeout: 3000, interval: 20 });
    await s.record(room, a, record(3), false, 60_000);
    expect(await s.read(room), "a new start after expiry: no old reports or count").toEqual({
      records: new Map([[a, record(3)]]),
      corrections: 0,
    });
  });

  it("counts every one of concurrent corrections", async () => {
    const s = make();
    const room = randomUUID();
    const users = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(users.map((u, i) => s.record(room, u, record(i), true, 60_000)));
    const { records, corrections } = await s.read(room);
    expect(corrections).toBe(20);
    expect(records.size).toBe(20);
  });

  it("what is read is a copy: changing it changes nothing stored", async () => {
    const s = make();
    const [room, a] = [randomUUID(), randomUUID()];
    const mine = record(1);
    await s.record(room, a, mine, false, 60_000);
    mine.drift = 99;
    const read = await s.read(room);
    read.records.get(a)!.drift = 42;
    read.records.delete(a);
    expect((await s.read(room)).records.get(a)).toEqual(record(1));
  });

  it("clearRoom forgets the room's reports and count, and no other room's", async () => {
    const s = make();
    const [room, other, a] = [randomUUID(), randomUUID(), randomUUID()];
    await s.record(room, a, record(1), true, 60_000);
    await s.record(other, a, record(2), true, 60_000);
    await s.clearRoom(room);
    expect(await s.read(room)).toEqual(empty);
    expect(await s.read(other)).toEqual({ records: new Map([[a, record(2)]]), corrections: 1 });
  });
});

describe.runIf(Boolean(r.url))("redis sync records", () => {
  it("skips a stored record it cannot read, keeping the others and the count", async () => {
    const s = new RedisSyncRecords(r.client!, r.prefix);
    const [room, a] = [randomUUID(), randomUUID()];
    await s.record(room, a, record(1), true, 60_000);
    await r.client!.hSet(`${r.prefix}rt:room:${room}:sync`, { broken: "{not json", partial: JSON.stringify({ d: 1 }) });
    expect(await s.read(room)).toEqual({ records: new Map([[a, record(1)]]), corrections: 1 });
  });
});
