/** Skip votes in process (embedded mode): per room, the current item's voters only. */
import type { SkipVotes } from "./skip-votes.js";

export class MemorySkipVotes implements SkipVotes {
  private readonly rooms = new Map<string, { itemId: string; voters: Set<string> }>();

  async vote(roomId: string, itemId: string, userId: string, on: boolean): Promise<number> {
    let entry = this.rooms.get(roomId);
    // Another item: the old one's votes lapse.
    if (entry?.itemId !== itemId) {
      entry = { itemId, voters: new Set() };
      this.rooms.set(roomId, entry);
    }
    if (on) entry.voters.add(userId);
    else entry.voters.delete(userId);
    return entry.voters.size;
  }

  async count(roomId: string, itemId: string): Promise<number> {
    const entry = this.rooms.get(roomId);
    return entry?.itemId === itemId ? entry.voters.size : 0;
  }

  async clearRoom(roomId: string): Promise<void> {
    this.rooms.delete(roomId);
  }
}
