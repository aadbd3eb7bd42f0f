/** The in-process chat gate; it reads the in-process mutes synchronously. */
import type { MuteCheck } from "../mutes/memory-mutes.js";
import { CHAT_RATE, type ChatGate, type ChatVerdict, DUPLICATE_WINDOW_MS } from "./chat-gate.js";

export class MemoryChatGate implements ChatGate {
  // Keyed "room:user".
  private readonly chatWindows = new Map<string, number[]>();
  private readonly cooldowns = new Map<string, number>();
  private readonly slowUntil = new Map<string, number>();
  private readonly lastMessages = new Map<string, { text: string; at: number }>();
  private chatCalls = 0;

  constructor(private readonly mutes: MuteCheck) {}

  async check(roomId: string, userId: string, text: string, slowModeMs = 0): Promise<ChatVerdict> {
    const now = Date.now();
    if (this.mutes.mutedAt(roomId, userId, now)) return "muted";
    const key = `${roomId}:${userId}`;
    if (slowModeMs > 0 && (this.slowUntil.get(key) ?? 0) > now) return "slow_mode";
    if (!this.countChat(key, now)) return "rate_limited";
    const last = this.lastMessages.get(key);
    if (last !== undefined && last.text === text && now - last.at < DUPLICATE_WINDOW_MS) return "duplicate";
    this.lastMessages.set(key, { text, at: now });
    if (slowModeMs > 0) this.slowUntil.set(key, now + slowModeMs);
    return "ok";
  }

  async refund(roomId: string, userId: string, text: string): Promise<void> {
    const key = `${roomId}:${userId}`;
    this.chatWindows.get(key)?.pop();
    if (this.lastMessages.get(key)?.text === text) this.lastMessages.delete(key);
    this.slowUntil.delete(key);
  }

  /**
   * Frees the room's entries (expired or deleted room). In-process housekeeping only: the Redis
   * gate's keys expire on their own, so this is not part of the ChatGate contract.
   */
  clearRoom(roomId: string): void {
    for (const map of [this.chatWindows, this.cooldowns, this.slowUntil, this.lastMessages]) {
      for (const key of map.keys()) if (key.startsWith(`${roomId}:`)) map.delete(key);
    }
  }

  /** Counts a message against the sliding window; false while limited or cooling down. */
  private countChat(key: string, now: number): boolean {
    if (++this.chatCalls % 1000 === 0) this.sweep(now);
    const cooldownUntil = this.cooldowns.get(key);
    if (cooldownUntil !== undefined) {
      if (cooldownUntil > now) return false;
      this.cooldowns.delete(key);
    }
    const window = (this.chatWindows.get(key) ?? []).filter((t) => t > now - CHAT_RATE.windowMs);
    window.push(now);
    if (window.length > CHAT_RATE.limit) {
      this.chatWindows.delete(key);
      this.cooldowns.set(key, now + CHAT_RATE.cooldownMs);
      return false;
    }
    this.chatWindows.set(key, window);
    return true;
  }

  /** Drops expired chat windows, cooldowns and duplicate entries (idle users would leak). */
  private sweep(now: number): void {
    for (const [key, times] of this.chatWindows) if (!times.some((t) => t > now - CHAT_RATE.windowMs)) this.chatWindows.delete(key);
    for (const [key, until] of this.cooldowns) if (until <= now) this.cooldowns.delete(key);
    for (const [key, until] of this.slowUntil) if (until <= now) this.slowUntil.delete(key);
    for (const [key, last] of this.lastMessages) if (now - last.at >= DUPLICATE_WINDOW_MS) this.lastMessages.delete(key);
  }
}
