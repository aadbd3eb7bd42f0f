/**
 * The chat gate: whether a user's message may be posted now (mutes, room slow mode, the rate
 * limit and the duplicate window), judged in one atomic step.
 */

export const CHAT_RATE = { limit: 5, windowMs: 3000, cooldownMs: 10_000 } as const;
export const DUPLICATE_WINDOW_MS = 3000;
/** The longest chat slow mode a host may set. */
export const SLOW_MODE_MAX_SECONDS = 3600;

export type ChatVerdict = "ok" | "muted" | "slow_mode" | "rate_limited" | "duplicate";

export interface ChatGate {
  /**
   * Every chat gate in one atomic step (one Redis round trip in cluster mode), in the original's
   * order: a muted user is refused before the limiter counts the message; so is one sent within
   * `slowModeMs` of the user's last accepted message (room slow mode, 0 = off); the message then
   * counts against the sliding window (a cooldown follows a burst); a repeat of the user's last
   * accepted text inside the duplicate window is refused; otherwise the text is remembered.
   */
  check(roomId: string, userId: string, text: string, slowModeMs?: number): Promise<ChatVerdict>;
  /**
   * Takes back what an accepted check counted, for a message that was then not posted (the
   * database failed): one place in the sliding window, the remembered text (when it is still
   * this one) and the slow-mode period. A retry is then judged as if the failure never happened.
   */
  refund(roomId: string, userId: string, text: string): Promise<void>;
}
