/** Skip votes in Redis: one set of voters per room and item, expiring a day after the last vote. */
import type { RedisClient } from "../../redis.js";
import { RealtimeKeys } from "../redis-keys.js";
import { SKIP_VOTES_TTL_SECONDS, type SkipVotes } from "./skip-votes.js";

export class RedisSkipVotes implements SkipVotes {
  private readonly keys: RealtimeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RealtimeKeys(prefix);
  }

  async vote(roomId: string, itemId: string, userId: string, on: boolean): Promise<number> {
    const key = this.keys.skipVotes(roomId, itemId);
    // One transaction: the count is the one this vote made.
    const multi = this.redis.multi();
    if (on) multi.sAdd(key, userId);
    else multi.sRem(key, userId);
    const [, count] = await multi.sCard(key).expire(key, SKIP_VOTES_TTL_SECONDS).exec();
    return Number(count);
  }

  async count(roomId: string, itemId: string): Promise<number> {
    return this.redis.sCard(this.keys.skipVotes(roomId, itemId));
  }

  /** Nothing to do: each item's set expires by itself (a room has had many items; no SCAN for them). */
  async clearRoom(): Promise<void> {}
}
