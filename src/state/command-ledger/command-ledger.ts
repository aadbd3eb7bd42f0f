/**
 * The command ledger: client command ids already claimed in a room, so a command retried (a
 * second tab, a resend after a reconnect) is applied once.
 */

export interface CommandLedger {
  /**
   * Claims a client command id in a room for `ttlMs`; false when it was already claimed (a
   * duplicate). Atomic across tabs and instances.
   */
  claim(roomId: string, commandId: string, ttlMs: number): Promise<boolean>;
  /** Forgets a claimed command id (the command was not applied, so a retry must run). */
  release(roomId: string, commandId: string): Promise<void>;
}
