/** In-process presence (one instance: no heartbeats, nothing to reap or restore). */
import type { RoomPresence } from "../presence.js";
import type { Presence } from "./presence.js";

interface RoomEntry {
  hostId: string;
  connections: Map<string, Set<string>>; // userId → connection ids
  since: Map<string, number>; // userId → epoch ms of their first connection
}

export class MemoryPresence implements Presence {
  private readonly rooms = new Map<string, RoomEntry>();

  async start(): Promise<void> {}
  async close(): Promise<void> {}

  async connect(roomId: string, hostId: string, userId: string, connectionId: string) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { hostId, connections: new Map(), since: new Map() };
      this.rooms.set(roomId, room);
    }
    room.hostId = hostId;
    let conns = room.connections.get(userId);
    const firstForUser = !conns || conns.size === 0;
    if (!conns) {
      conns = new Set();
      room.connections.set(userId, conns);
      room.since.set(userId, Date.now());
    }
    conns.add(connectionId);
    return { firstForUser };
  }

  async disconnect(roomId: string, userId: string, connectionId: string) {
    const room = this.rooms.get(roomId);
    const conns = room?.connections.get(userId);
    if (!room || !conns?.delete(connectionId)) return { lastForUser: false };
    if (conns.size > 0) return { lastForUser: false };
    room.connections.delete(userId);
    room.since.delete(userId);
    if (room.connections.size === 0) this.rooms.delete(roomId);
    return { lastForUser: true };
  }

  async onlineUsers(roomId: string) {
    return new Set(this.rooms.get(roomId)?.connections.keys() ?? []);
  }

  async onlineSince(roomId: string) {
    return new Map(this.rooms.get(roomId)?.since ?? []);
  }

  async setHost(roomId: string, hostId: string) {
    const room = this.rooms.get(roomId);
    if (room) room.hostId = hostId;
  }

  async roomPresence(roomIds: readonly string[]) {
    const result = new Map<string, RoomPresence>();
    for (const id of roomIds) {
      const room = this.rooms.get(id);
      if (room) result.set(id, { viewers: room.connections.size, hostOnline: room.connections.has(room.hostId) });
    }
    return result;
  }

  async clearRoom(roomId: string) {
    this.rooms.delete(roomId);
  }
}
