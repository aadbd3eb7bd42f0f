/** The command ledger in Redis: one key per claimed id, SET NX with the claim's TTL. */
import type { RedisClient } from "../../redis.js";
import { RealtimeKeys } from "../redis-keys.js";
import type { CommandLedger } from "./command-ledger.js";

export class RedisCommandLedger implements CommandLedger {
  private readonly keys: RealtimeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RealtimeKeys(prefix);
  }

  async claim(roomId: string, commandId: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.command(roomId, commandId), "1", { NX: true, PX: ttlMs })) === "OK";
  }

  async release(roomId: string, commandId: string): Promise<void> {
    await this.redis.del(this.keys.command(roomId, commandId));
  }
}
