/**
 * The chat gate in Redis: one Lua script per check (../lua/chat-gate.ts), which also reads the
 * room's mutes hash (kept by ../mutes/redis-mutes.ts under the same prefix).
 */
import { randomBytes } from "node:crypto";
import type { RedisClient } from "../../redis.js";
import { CHECK_CHAT, REFUND_CHAT } from "../lua/chat-gate.js";
import { RealtimeKeys } from "../redis-keys.js";
import { CHAT_RATE, type ChatGate, type ChatVerdict, DUPLICATE_WINDOW_MS } from "./chat-gate.js";

export class RedisChatGate implements ChatGate {
  private readonly keys: RealtimeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RealtimeKeys(prefix);
  }

  async check(roomId: string, userId: string, text: string, slowModeMs = 0): Promise<ChatVerdict> {
    const chat = this.keys.chat(roomId, userId);
    const now = Date.now();
    return (await this.redis.eval(CHECK_CHAT, {
      keys: [this.keys.roomMutes(roomId), chat.window, chat.cooldown, chat.last, chat.slow],
      arguments: [
        userId,
        String(now),
        String(CHAT_RATE.windowMs),
        String(CHAT_RATE.limit),
        String(CHAT_RATE.cooldownMs),
        `${now}-${randomBytes(4).toString("hex")}`,
        text,
        String(DUPLICATE_WINDOW_MS),
        String(slowModeMs),
      ],
    })) as ChatVerdict;
  }

  async refund(roomId: string, userId: string, text: string): Promise<void> {
    const chat = this.keys.chat(roomId, userId);
    await this.redis.eval(REFUND_CHAT, { keys: [chat.window, chat.last, chat.slow], arguments: [text] });
  }
}
