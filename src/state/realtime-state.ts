/**
 * Realtime state shared by every connection of a room: presence (per user, across tabs),
 * chat rate limits, the duplicate window and mutes. This is the in-process implementation;
 * a Redis implementation with the same contract serves cluster mode.
 */
import type { PresenceReader, RoomPresence } from "./presence.js";

export const CHAT_RATE = { limit: 5, windowMs: 3000, cooldownMs: 10_000 } as const;
export const DUPLICATE_WINDOW_MS = 3000;

export type ChatVerdict = "ok" | "muted" | "slow_mode" | "rate_limited" | "duplicate";
/** The longest chat slow mode a host may set. */
export const SLOW_MODE_MAX_SECONDS = 3600;

/** Called when a user's last connection disappeared with a dead instance. */
export type StaleLeaveHandler = (roomId: string, userId: string) => Promise<void>;
/** Called after this instance re-registered presence its store had lost (Redis restart or flush). */
export type RestoredHandler = () => Promise<void>;

export interface RealtimeState extends PresenceReader {
  /** Starts heartbeats, dead-peer detection and self-repair (cluster); a no-op in memory. */
  start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void>;
  close(options?: { forget?: boolean }): Promise<void>;
  /** Adds a connection; `firstForUser` is true when the user had none in the room. */
  connect(roomId: string, hostId: string, userId: string, connectionId: string): Promise<{ firstForUser: boolean }>;
  /** Removes a connection; `lastForUser` is true when it was the user's last in the room. */
  disconnect(roomId: string, userId: string, connectionId: string): Promise<{ lastForUser: boolean }>;
  onlineUsers(roomId: string): Promise<Set<string>>;
  /**
   * Every chat gate in one atomic step (one Redis round trip in cluster mode), in the original's
   * order: a muted user is refused before the limiter counts the message; so is one sent within
   * `slowModeMs` of the user's last accepted message (room slow mode, 0 = off); the message then
   * counts against the sliding window (a cooldown follows a burst); a repeat of the user's last
   * accepted text inside the duplicate window is refused; otherwise the text is remembered.
   */
  checkChat(roomId: string, userId: string, text: string, slowModeMs?: number): Promise<ChatVerdict>;
  /**
   * Claims a client command id in a room for `ttlMs`; false when it was already claimed (a
   * duplicate). Atomic across tabs and instances.
   */
  claimCommand(roomId: string, commandId: string, ttlMs: number): Promise<boolean>;
  /** Forgets a claimed command id (the command was not applied, so a retry must run). */
  releaseCommand(roomId: string, commandId: string): Promise<void>;
  setMuted(roomId: string, userId: string, muted: boolean): Promise<void>;
  isMuted(roomId: string, userId: string): Promise<boolean>;
  /** Forgets everything about a room (expired or deleted). */
  clearRoom(roomId: string): Promise<void>;
}

interface RoomEntry {
  hostId: string;
  connections: Map<string, Set<string>>; // userId → connection ids
}

export class MemoryRealtimeState implements RealtimeState {
  async start(): Promise<void> {}
  async close(): Promise<void> {}

  private readonly rooms = new Map<string, RoomEntry>();
  private readonly chatWindows = new Map<string, number[]>();
  private readonly cooldowns = new Map<string, number>();
  private readonly slowUntil = new Map<string, number>();
  private readonly commands = new Map<string, number>(); // room:command id → expiry (epoch ms)
  private readonly lastMessages = new Map<string, { text: string; at: number }>();
  private readonly mutes = new Map<string, Set<string>>();

  async connect(roomId: string, hostId: string, userId: string, connectionId: string) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { hostId, connections: new Map() };
      this.rooms.set(roomId, room);
    }
    let conns = room.connections.get(userId);
    const firstForUser = !conns || conns.size === 0;
    if (!conns) {
      conns = new Set();
      room.connections.set(userId, conns);
    }
    conns.add(connectionId);
    return { firstForUser };
  }

  async disconnect(roomId: string, userId: string, connectionId: string) {
    const room = this.rooms.get(roomId);
    const conns = room?.connections.get(userId);
    if (!room || !conns || !conns.delete(connectionId)) return { lastForUser: false };
    if (conns.size > 0) return { lastForUser: false };
    room.connections.delete(userId);
    if (room.connections.size === 0) this.rooms.delete(roomId);
    return { lastForUser: true };
  }

  async onlineUsers(roomId: string) {
    return new Set(this.rooms.get(roomId)?.connections.keys() ?? []);
  }

  async roomPresence(roomIds: readonly string[]) {
    const result = new Map<string, RoomPresence>();
    for (const id of roomIds) {
      const room = this.rooms.get(id);
      if (room) result.set(id, { viewers: room.connections.size, hostOnline: room.connections.has(room.hostId) });
    }
    return result;
  }

  private chatCalls = 0;

  async checkChat(roomId: string, userId: string, text: string, slowModeMs = 0): Promise<ChatVerdict> {
    if (this.mutes.get(roomId)?.has(userId)) return "muted";
    const key = `${roomId}:${userId}`;
    const now = Date.now();
    if (slowModeMs > 0 && (this.slowUntil.get(key) ?? 0) > now) return "slow_mode";
    if (!this.countChat(key, now)) return "rate_limited";
    const last = this.lastMessages.get(key);
    if (last !== undefined && last.text === text && now - last.at < DUPLICATE_WINDOW_MS) return "duplicate";
    this.lastMessages.set(key, { text, at: now });
    if (slowModeMs > 0) this.slowUntil.set(key, now + slowModeMs);
    return "ok";
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

  async claimCommand(roomId: string, commandId: string, ttlMs: number): Promise<boolean> {
    const key = `${roomId}:${commandId}`;
    const now = Date.now();
    if ((this.commands.get(key) ?? 0) > now) return false;
    if (this.commands.size > 10_000) for (const [k, until] of this.commands) if (until <= now) this.commands.delete(k);
    this.commands.set(key, now + ttlMs);
    return true;
  }

  async releaseCommand(roomId: string, commandId: string): Promise<void> {
    this.commands.delete(`${roomId}:${commandId}`);
  }

  async setMuted(roomId: string, userId: string, muted: boolean) {
    let set = this.mutes.get(roomId);
    if (muted) {
      if (!set) this.mutes.set(roomId, (set = new Set()));
      set.add(userId);
    } else {
      set?.delete(userId);
    }
  }

  async isMuted(roomId: string, userId: string) {
    return this.mutes.get(roomId)?.has(userId) ?? false;
  }

  async clearRoom(roomId: string) {
    this.rooms.delete(roomId);
    this.mutes.delete(roomId);
    for (const map of [this.chatWindows, this.cooldowns, this.slowUntil, this.lastMessages, this.commands]) {
      for (const key of map.keys()) if (key.startsWith(`${roomId}:`)) map.delete(key);
    }
  }
}
