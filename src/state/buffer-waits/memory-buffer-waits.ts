/** Buffering waits in process (embedded mode). */
import type { BufferingView, BufferWait, BufferWaits, Reported } from "./buffer-waits.js";

interface RoomWaits {
  buffering: Set<string>;
  wait: BufferWait | null;
  catchingUp: Set<string>;
  cooldown: Map<string, number>;
}

export class MemoryBufferWaits implements BufferWaits {
  private readonly rooms = new Map<string, RoomWaits>();

  private room(roomId: string): RoomWaits {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = { buffering: new Set(), wait: null, catchingUp: new Set(), cooldown: new Map() }));
    return room;
  }

  async report(roomId: string, userId: string, buffering: boolean, now: number): Promise<Reported> {
    const room = this.room(roomId);
    const changed = room.buffering.has(userId) !== buffering;
    const caughtUp = !buffering && room.catchingUp.has(userId);
    if (buffering) room.buffering.add(userId);
    else {
      room.buffering.delete(userId);
      room.catchingUp.delete(userId);
    }
    return { ...(await this.read(roomId, now)), changed, caughtUp };
  }

  async read(roomId: string, now: number): Promise<BufferingView> {
    const room = this.room(roomId);
    for (const [userId, until] of room.cooldown) if (until <= now) room.cooldown.delete(userId);
    return {
      buffering: new Set(room.buffering),
      wait: room.wait && { ...room.wait },
      catchingUp: new Set(room.catchingUp),
      cooldown: new Map(room.cooldown),
    };
  }

  async begin(roomId: string, wait: BufferWait): Promise<boolean> {
    const room = this.room(roomId);
    if (room.wait) return false;
    room.wait = { ...wait };
    return true;
  }

  async end(roomId: string, version: number): Promise<BufferWait | undefined> {
    const room = this.rooms.get(roomId);
    const wait = room?.wait;
    if (!room || !wait || wait.version >= version) return undefined;
    room.wait = null;
    return wait;
  }

  async leftBehind(roomId: string, userIds: readonly string[], until: number): Promise<void> {
    const room = this.room(roomId);
    for (const userId of userIds) {
      room.catchingUp.add(userId);
      room.cooldown.set(userId, until);
    }
  }

  async clearRoom(roomId: string): Promise<void> {
    this.rooms.delete(roomId);
  }
}
