/**
 * Redis for the state contract suites: a client (when TEST_REDIS_URL is set, i.e. in the
 * cluster-backends project) under a key prefix of its own, deleted after the file.
 */
import { randomUUID } from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll } from "vitest";

type Redis = ReturnType<typeof createClient>;

export interface ContractRedis {
  readonly url: string | undefined;
  readonly prefix: string;
  /** Connected before the file's tests run; undefined without TEST_REDIS_URL. */
  client: Redis | undefined;
}

export function contractRedis(name: string): ContractRedis {
  const handle: ContractRedis = { url: process.env.TEST_REDIS_URL, prefix: `test:${name}:${randomUUID().slice(0, 8)}:`, client: undefined };
  beforeAll(async () => {
    if (!handle.url) return;
    handle.client = createClient({ url: handle.url, RESP: 2 });
    await handle.client.connect();
  });
  afterAll(async () => {
    const redis = handle.client;
    if (!redis) return;
    for await (const keys of redis.scanIterator({ MATCH: `${handle.prefix}*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
    await redis.quit();
  });
  return handle;
}

/** A contract's subjects: the in-memory implementation, and the Redis one when Redis is there. */
export function implementations<T>(r: ContractRedis, memory: () => T, redis: (client: Redis, prefix: string) => T): [string, () => T][] {
  return [["memory", memory], ...(r.url ? [["redis", () => redis(r.client!, r.prefix)] as [string, () => T]] : [])];
}
