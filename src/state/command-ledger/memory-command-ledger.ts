/** The in-process command ledger. */
import type { CommandLedger } from "./command-ledger.js";

export class MemoryCommandLedger implements CommandLedger {
  private readonly claims = new Map<string, number>(); // room:command id → expiry (epoch ms)

  async claim(roomId: string, commandId: string, ttlMs: number): Promise<boolean> {
    const key = `${roomId}:${commandId}`;
    const now = Date.now();
    if ((this.claims.get(key) ?? 0) > now) return false;
    // Claims are kept in claim order (a re-claim moves to the end) and share one TTL, so the
    // expired ones are at the front: dropping them costs O(1) per claim, amortised.
    for (const [k, until] of this.claims) {
      if (until > now) break;
      this.claims.delete(k);
    }
    this.claims.delete(key);
    this.claims.set(key, now + ttlMs);
    return true;
  }

  async release(roomId: string, commandId: string): Promise<void> {
    this.claims.delete(`${roomId}:${commandId}`);
  }

  /**
   * Frees the room's claims (expired or deleted room). In-process housekeeping only: Redis
   * claims expire on their own, so this is not part of the CommandLedger contract.
   */
  clearRoom(roomId: string): void {
    for (const key of this.claims.keys()) if (key.startsWith(`${roomId}:`)) this.claims.delete(key);
  }
}
