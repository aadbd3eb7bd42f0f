/** One contract, two implementations: the in-memory and Redis room log (resumable sessions). */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LOG_MAX_ENTRIES, MemoryRoomLog, RedisRoomLog, type RoomLog } from "../../src/state/room-log.js";
import { contractRedis, implementations } from "../helpers/redis.js";

const r = contractRedis("log");
const subjects = implementations<RoomLog>(
  r,
  () => new MemoryRoomLog(),
  (client, prefix) => new RedisRoomLog(client, prefix),
);

describe.each(subjects)("%s room log", (_name, make) => {
  it("numbers appends in order, once per key, and returns what follows a position", async () => {
    const log = make();
    const room = randomUUID();
    expect(await log.head(room)).toBe(0);
    expect(await log.since(room, 0)).toEqual([]);
    expect(await log.append(room, "a", '{"type":"A"}')).toBe(1);
    expect(await log.append(room, "b", '{"type":"B"}')).toBe(2);
    // Every instance appends the same room event: one entry, one number.
    expect(await Promise.all([log.append(room, "c", '{"type":"C"}'), log.append(room, "c", '{"type":"C"}')])).toEqual([3, 3]);
    expect(await log.head(room)).toBe(3);
    expect(await log.since(room, 1)).toEqual([
      { seq: 2, json: '{"type":"B"}' },
      { seq: 3, json: '{"type":"C"}' },
    ]);
    expect(await log.since(room, 3)).toEqual([]);
    // A position past the head: the log was lost and started over.
    expect(await log.since(room, 4)).toBeNull();
    await log.clearRoom(room);
    expect(await log.since(room, 2)).toBeNull();
  });

  it("keeps the last entries only, and says so for a position it no longer covers", async () => {
    const log = make();
    const room = randomUUID();
    const total = LOG_MAX_ENTRIES + 5;
    for (let i = 1; i <= total; i += 1) await log.append(room, `k${i}`, `{"n":${i}}`);
    expect(await log.since(room, 4)).toBeNull();
    expect(await log.since(room, 5)).toHaveLength(LOG_MAX_ENTRIES);
    expect((await log.since(room, total - 2))!.map((e) => e.seq)).toEqual([total - 1, total]);
  });

  it("resume tokens: one use, until they expire", async () => {
    const log = make();
    const hold = { userId: randomUUID(), roomId: randomUUID(), connectionId: "c1" };
    const token = await log.issue(hold, 60_000);
    expect(await log.take(token)).toEqual(hold);
    expect(await log.take(token)).toBeNull();
    const short = await log.issue(hold, 60_000);
    await log.hold(short, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await log.take(short)).toBeNull();
    const dropped = await log.issue(hold, 60_000);
    await log.drop(dropped);
    expect(await log.take(dropped)).toBeNull();
  });
});
