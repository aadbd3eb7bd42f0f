/** In-process mutes. */
import type { Mutes } from "./mutes.js";

/** A synchronous mute check, so the in-process chat gate stays one step. */
export interface MuteCheck {
  /** True while a mute is in force at `now`; an expired one is forgotten. */
  mutedAt(roomId: string, userId: string, now: number): boolean;
}

export class MemoryMutes implements Mutes, MuteCheck {
  private readonly rooms = new Map<string, Map<string, number>>(); // room → user → until (epoch ms)

  async mute(roomId: string, userId: string, untilMs?: number | null) {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = new Map()));
    room.set(userId, untilMs ?? Number.POSITIVE_INFINITY);
  }

  async unmute(roomId: string, userId: string) {
    this.rooms.get(roomId)?.delete(userId);
  }

  async isMuted(roomId: string, userId: string) {
    return this.mutedAt(roomId, userId, Date.now());
  }

  mutedAt(roomId: string, userId: string, now: number): boolean {
    const room = this.rooms.get(roomId);
    const until = room?.get(userId);
    if (until === undefined) return false;
    if (until > now) return true;
    room!.delete(userId);
    return false;
  }

  async clearRoom(roomId: string) {
    this.rooms.delete(roomId);
  }
}
