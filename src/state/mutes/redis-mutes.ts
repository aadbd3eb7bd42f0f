/** Mutes in Redis: one hash per room, user → until (epoch ms, "0" = until lifted). */
import type { RedisClient } from "../../redis.js";
import { IS_MUTED } from "../lua/mutes.js";
import { RealtimeKeys } from "../redis-keys.js";
import type { Mutes } from "./mutes.js";

export class RedisMutes implements Mutes {
  private readonly keys: RealtimeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RealtimeKeys(prefix);
  }

  async mute(roomId: string, userId: string, untilMs?: number | null) {
    await this.redis.hSet(this.keys.roomMutes(roomId), userId, String(untilMs ?? 0));
  }

  async unmute(roomId: string, userId: string) {
    await this.redis.hDel(this.keys.roomMutes(roomId), userId);
  }

  async isMuted(roomId: string, userId: string) {
    return (await this.redis.eval(IS_MUTED, { keys: [this.keys.roomMutes(roomId)], arguments: [userId, String(Date.now())] })) === 1;
  }

  async clearRoom(roomId: string) {
    await this.redis.del(this.keys.roomMutes(roomId));
  }
}
