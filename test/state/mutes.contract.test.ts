/** The mutes contract, run against the in-memory and the Redis implementation. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryMutes } from "../../src/state/mutes/memory-mutes.js";
import type { Mutes } from "../../src/state/mutes/mutes.js";
import { RedisMutes } from "../../src/state/mutes/redis-mutes.js";
import { contractRedis, implementations } from "../helpers/redis.js";
import { clockPasses } from "./clock.js";

const r = contractRedis("mutes");
const subjects = implementations<Mutes>(
  r,
  () => new MemoryMutes(),
  (client, prefix) => new RedisMutes(client, prefix),
);

describe.each(subjects)("%s mutes", (_name, make) => {
  it("a mute holds until lifted; lifting twice, or lifting nobody, is harmless", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    expect(await s.isMuted(room, user)).toBe(false);
    await s.unmute(room, user); // nobody muted yet
    await s.mute(room, user);
    await s.mute(room, user); // idempotent
    expect(await s.isMuted(room, user)).toBe(true);
    await s.unmute(room, user);
    expect(await s.isMuted(room, user)).toBe(false);
    await s.unmute(room, user);
    expect(await s.isMuted(room, user)).toBe(false);
  });

  it("a mute is per room and per user", async () => {
    const s = make();
    const [room, other, user, neighbour] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await s.mute(room, user, null);
    expect(await s.isMuted(room, user)).toBe(true);
    expect(await s.isMuted(other, user)).toBe(false);
    expect(await s.isMuted(room, neighbour)).toBe(false);
  });

  it("a timed mute ends at its expiry with no unmute; one already over is not in force", async () => {
    const s = make();
    const [room, user, other] = [randomUUID(), randomUUID(), randomUUID()];
    const until = Date.now() + 400;
    await s.mute(room, user, until);
    await s.mute(room, other, Date.now() - 1); // already over (a restore never passes one, but harmless)
    expect(await s.isMuted(room, user)).toBe(true);
    expect(await s.isMuted(room, other)).toBe(false);
    await clockPasses(until);
    expect(await s.isMuted(room, user)).toBe(false);
    expect(await s.isMuted(room, user), "and stays over").toBe(false);
  });

  it("the latest mute is the one in force: timed, for good, timed again, already over", async () => {
    const s = make();
    const [room, user] = [randomUUID(), randomUUID()];
    await s.mute(room, user, Date.now() + 60_000);
    await s.mute(room, user); // for good now
    expect(await s.isMuted(room, user)).toBe(true);
    await s.mute(room, user, Date.now() + 60_000);
    expect(await s.isMuted(room, user)).toBe(true);
    await s.mute(room, user, Date.now() - 1);
    expect(await s.isMuted(room, user), "replaced by an expired one").toBe(false);
  });

  it("clearRoom forgets the room's mutes and no other room's", async () => {
    const s = make();
    const [room, other, user] = [randomUUID(), randomUUID(), randomUUID()];
    await s.mute(room, user);
    await s.mute(other, user);
    await s.clearRoom(room);
    expect(await s.isMuted(room, user)).toBe(false);
    expect(await s.isMuted(other, user)).toBe(true);
  });
});
