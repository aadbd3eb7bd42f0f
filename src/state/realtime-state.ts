/**
 * Realtime state shared by every connection of a room: presence (per user, across tabs),
 * chat rate limits, the duplicate window, mutes and the latest sync report per user. This is
 * the in-process implementation;
 * a Redis implementation with the same contract serves cluster mode.
 */
import type { PresenceReader, RoomPresence } from "./presence.js";

export const CHAT_RATE = { limit: 5, windowMs: 3000, cooldownMs: 10_000 } as const;
export const DUPLICATE_WINDOW_MS = 3000;

export type ChatVerdict = "ok" | "muted" | "slow_mode" | "rate_limited" | "duplicate";
/** The longest chat slow mode a host may set. */
export const SLOW_MODE_MAX_SECONDS = 3600;

/** One member's latest SYNC_REPORT in a room, as kept for the room's sync summary. */
export interface SyncRecord {
  /** Signed seconds against the room's position when the report was taken (negative: behind). */
  drift: number;
  rttMs: number;
  buffering: boolean;
  /** When it was recorded (epoch ms). */
  at: number;
  displayName: string;
}

export interface RoomSyncRecords {
  /** user id → that user's latest report. */
  records: Map<string, SyncRecord>;
  /** Corrections sent in answer to reports since the room's records began. */
  corrections: number;
}

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
  /** Online users with the epoch ms their presence began (first tab in; used for host succession). */
  onlineSince(roomId: string): Promise<Map<string, number>>;
  /** The room has a new host (succession, reclaim): presence reports count them as the host. */
  setHost(roomId: string, hostId: string): Promise<void>;
  /**
   * Every chat gate in one atomic step (one Redis round trip in cluster mode), in the original's
   * order: a muted user is refused before the limiter counts the message; so is one sent within
   * `slowModeMs` of the user's last accepted message (room slow mode, 0 = off); the message then
   * counts against the sliding window (a cooldown follows a burst); a repeat of the user's last
   * accepted text inside the duplicate window is refused; otherwise the text is remembered.
   */
  checkChat(roomId: string, userId: string, text: string, slowModeMs?: number): Promise<ChatVerdict>;
  /**
   * Takes back what an accepted checkChat counted, for a message that was then not posted (the
   * database failed): one place in the sliding window, the remembered text (when it is still
   * this one) and the slow-mode period. A retry is then judged as if the failure never happened.
   */
  refundChat(roomId: string, userId: string, text: string): Promise<void>;
  /**
   * Claims a client command id in a room for `ttlMs`; false when it was already claimed (a
   * duplicate). Atomic across tabs and instances.
   */
  claimCommand(roomId: string, commandId: string, ttlMs: number): Promise<boolean>;
  /** Forgets a claimed command id (the command was not applied, so a retry must run). */
  releaseCommand(roomId: string, commandId: string): Promise<void>;
  /**
   * Mutes (or unmutes) a user in the room's chat gate. A timed mute passes `untilMs` (epoch ms):
   * checkChat stops refusing at that moment, with no timer and no unmute.
   */
  setMuted(roomId: string, userId: string, muted: boolean, untilMs?: number | null): Promise<void>;
  isMuted(roomId: string, userId: string): Promise<boolean>;
  /**
   * Keeps a user's latest sync report in a room (replacing the previous one) and counts a
   * correction when `corrected`. The room's reports and count are forgotten `ttlMs` after its
   * last report, or by clearRoom. Shared by every instance (the host's sees all viewers).
   */
  recordSync(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number): Promise<void>;
  /** The room's latest report per user and its correction count (empty when none). */
  syncReports(roomId: string): Promise<RoomSyncRecords>;
  /** Forgets everything about a room (expired or deleted). */
  clearRoom(roomId: string): Promise<void>;
}

interface RoomEntry {
  hostId: string;
  connections: Map<string, Set<string>>; // userId → connection ids
  since: Map<string, number>; // userId → epoch ms of their first connection
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
  private readonly mutes = new Map<string, Map<string, number>>(); // room → user → until (epoch ms)
  private readonly syncRooms = new Map<string, RoomSyncRecords & { expiresAt: number }>();

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
    if (!room || !conns || !conns.delete(connectionId)) return { lastForUser: false };
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

  private chatCalls = 0;

  async checkChat(roomId: string, userId: string, text: string, slowModeMs = 0): Promise<ChatVerdict> {
    const now = Date.now();
    if (this.mutedAt(roomId, userId, now)) return "muted";
    const key = `${roomId}:${userId}`;
    if (slowModeMs > 0 && (this.slowUntil.get(key) ?? 0) > now) return "slow_mode";
    if (!this.countChat(key, now)) return "rate_limited";
    const last = this.lastMessages.get(key);
    if (last !== undefined && last.text === text && now - last.at < DUPLICATE_WINDOW_MS) return "duplicate";
    this.lastMessages.set(key, { text, at: now });
    if (slowModeMs > 0) this.slowUntil.set(key, now + slowModeMs);
    return "ok";
  }

  async refundChat(roomId: string, userId: string, text: string): Promise<void> {
    const key = `${roomId}:${userId}`;
    this.chatWindows.get(key)?.pop();
    if (this.lastMessages.get(key)?.text === text) this.lastMessages.delete(key);
    this.slowUntil.delete(key);
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
    // Claims are kept in claim order (a re-claim moves to the end) and share one TTL, so the
    // expired ones are at the front: dropping them costs O(1) per claim, amortised.
    for (const [k, until] of this.commands) {
      if (until > now) break;
      this.commands.delete(k);
    }
    this.commands.delete(key);
    this.commands.set(key, now + ttlMs);
    return true;
  }

  async releaseCommand(roomId: string, commandId: string): Promise<void> {
    this.commands.delete(`${roomId}:${commandId}`);
  }

  async setMuted(roomId: string, userId: string, muted: boolean, untilMs?: number | null) {
    let room = this.mutes.get(roomId);
    if (muted) {
      if (!room) this.mutes.set(roomId, (room = new Map()));
      room.set(userId, untilMs ?? Number.POSITIVE_INFINITY);
    } else {
      room?.delete(userId);
    }
  }

  async isMuted(roomId: string, userId: string) {
    return this.mutedAt(roomId, userId, Date.now());
  }

  /** True while a mute is in force; an expired one is forgotten. */
  private mutedAt(roomId: string, userId: string, now: number): boolean {
    const room = this.mutes.get(roomId);
    const until = room?.get(userId);
    if (until === undefined) return false;
    if (until > now) return true;
    room!.delete(userId);
    return false;
  }

  async recordSync(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number) {
    const now = Date.now();
    let room = this.syncRooms.get(roomId);
    if (!room || room.expiresAt <= now) {
      if (this.syncRooms.size > 1000) for (const [id, r] of this.syncRooms) if (r.expiresAt <= now) this.syncRooms.delete(id);
      room = { records: new Map(), corrections: 0, expiresAt: 0 };
      this.syncRooms.set(roomId, room);
    }
    room.records.set(userId, { ...record });
    if (corrected) room.corrections += 1;
    room.expiresAt = now + ttlMs;
  }

  async syncReports(roomId: string): Promise<RoomSyncRecords> {
    const room = this.syncRooms.get(roomId);
    if (!room || room.expiresAt <= Date.now()) return { records: new Map(), corrections: 0 };
    return { records: new Map([...room.records].map(([id, r]) => [id, { ...r }])), corrections: room.corrections };
  }

  async clearRoom(roomId: string) {
    this.rooms.delete(roomId);
    this.mutes.delete(roomId);
    this.syncRooms.delete(roomId);
    for (const map of [this.chatWindows, this.cooldowns, this.slowUntil, this.lastMessages, this.commands]) {
      for (const key of map.keys()) if (key.startsWith(`${roomId}:`)) map.delete(key);
    }
  }
}
