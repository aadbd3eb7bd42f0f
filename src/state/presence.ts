/**
 * What REST needs to know about live rooms: distinct connected users and whether the host
 * is connected. The realtime layer is the writer; discovery only reads through this interface.
 */

export interface RoomPresence {
  viewers: number;
  hostOnline: boolean;
}

export interface PresenceReader {
  /** Presence for each room id asked for; rooms nobody is in are absent from the map. */
  roomPresence(roomIds: readonly string[]): Promise<Map<string, RoomPresence>>;
}

/**
 * In-process presence: connection counts per (room, user). A user with several tabs counts once.
 */
export class MemoryPresence implements PresenceReader {
  private readonly rooms = new Map<string, { hostId: string; users: Map<string, number> }>();

  /** Records a new connection; returns true when it is the user's first in the room. */
  connect(roomId: string, hostId: string, userId: string): boolean {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { hostId, users: new Map() };
      this.rooms.set(roomId, room);
    }
    const count = (room.users.get(userId) ?? 0) + 1;
    room.users.set(userId, count);
    return count === 1;
  }

  /** Records a closed connection; returns true when it was the user's last in the room. */
  disconnect(roomId: string, userId: string): boolean {
    const room = this.rooms.get(roomId);
    const count = room?.users.get(userId);
    if (!room || count === undefined) return false;
    if (count > 1) {
      room.users.set(userId, count - 1);
      return false;
    }
    room.users.delete(userId);
    if (room.users.size === 0) this.rooms.delete(roomId);
    return true;
  }

  clearRoom(roomId: string): void {
    this.rooms.delete(roomId);
  }

  async roomPresence(roomIds: readonly string[]): Promise<Map<string, RoomPresence>> {
    const result = new Map<string, RoomPresence>();
    for (const id of roomIds) {
      const room = this.rooms.get(id);
      if (room) result.set(id, { viewers: room.users.size, hostOnline: room.users.has(room.hostId) });
    }
    return result;
  }
}
