/** The buffering waits contract, run against the in-memory and the Redis implementation. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { BufferWaits } from "../../src/state/buffer-waits/buffer-waits.js";
import { MemoryBufferWaits } from "../../src/state/buffer-waits/memory-buffer-waits.js";
import { RedisBufferWaits } from "../../src/state/buffer-waits/redis-buffer-waits.js";
import { contractRedis, implementations } from "../helpers/redis.js";

const r = contractRedis("buffer-waits");
const subjects = implementations<BufferWaits>(
  r,
  () => new MemoryBufferWaits(),
  (client, prefix) => new RedisBufferWaits(client, prefix),
);

describe.each(subjects)("%s buffering waits", (_name, make) => {
  it("a report sets the user's flag (once per user, whatever their tabs) and reads the room after it", async () => {
    const s = make();
    const [room, ann, bob] = [randomUUID(), randomUUID(), randomUUID()];
    const now = Date.now();
    expect(await s.report(room, ann, true, now)).toMatchObject({ changed: true, caughtUp: false, buffering: new Set([ann]), wait: null });
    expect((await s.report(room, ann, true, now)).changed).toBe(false);
    expect((await s.report(room, bob, true, now)).buffering).toEqual(new Set([ann, bob]));
    expect(await s.report(room, ann, false, now)).toMatchObject({ changed: true, buffering: new Set([bob]) });
    expect((await s.report(room, ann, false, now)).changed).toBe(false);
    expect((await s.read(randomUUID(), now)).buffering.size).toBe(0);
  });

  it("a wait begins once and ends once, only by a later version", async () => {
    const s = make();
    const room = randomUUID();
    const wait = { version: 4, position: 12.5, deadline: Date.now() + 1000 };
    expect(await s.begin(room, wait)).toBe(true);
    expect(await s.begin(room, { ...wait, version: 9 })).toBe(false);
    expect((await s.read(room, Date.now())).wait).toEqual(wait);
    expect(await s.end(room, 4)).toBeUndefined(); // the pause's own version
    expect(await s.end(room, 5)).toEqual(wait);
    expect(await s.end(room, 6)).toBeUndefined();
    expect((await s.read(room, Date.now())).wait).toBeNull();
  });

  it("those left behind catch up until they are ready, and cool down until their time", async () => {
    const s = make();
    const [room, ann, bob] = [randomUUID(), randomUUID(), randomUUID()];
    const now = Date.now();
    await s.report(room, ann, true, now);
    await s.leftBehind(room, [ann, bob], now + 1000);
    await s.leftBehind(room, [], now + 1000);
    const view = await s.read(room, now);
    expect(view.catchingUp).toEqual(new Set([ann, bob]));
    expect(view.cooldown).toEqual(
      new Map([
        [ann, now + 1000],
        [bob, now + 1000],
      ]),
    );
    expect(await s.report(room, ann, false, now)).toMatchObject({ caughtUp: true, catchingUp: new Set([bob]) });
    expect((await s.read(room, now + 1000)).cooldown.size).toBe(0);
    await s.clearRoom(room);
    expect(await s.read(room, now)).toEqual({ buffering: new Set(), wait: null, catchingUp: new Set(), cooldown: new Map() });
  });
});
