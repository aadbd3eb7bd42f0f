/**
 * Realtime state shared by every connection of a room, by key family: presence (per user,
 * across tabs), the chat gate (mutes, slow mode, rate limit, duplicate window), the command
 * ledger, mutes and the latest sync report per user. Each family has an in-process and a Redis
 * implementation with the same contract (./presence/, ./chat-gate/, ./command-ledger/,
 * ./mutes/, ./sync-records/); this composite holds one of each. MemoryRealtimeState is the
 * in-process one; RedisRealtimeState (./redis-realtime-state.ts) serves cluster mode.
 */
import type { ChatGate, ChatVerdict } from "./chat-gate/chat-gate.js";
import { MemoryChatGate } from "./chat-gate/memory-chat-gate.js";
import type { CommandLedger } from "./command-ledger/command-ledger.js";
import { MemoryCommandLedger } from "./command-ledger/memory-command-ledger.js";
import { MemoryMutes } from "./mutes/memory-mutes.js";
import type { Mutes } from "./mutes/mutes.js";
import type { PresenceReader } from "./presence.js";
import { MemoryPresence } from "./presence/memory-presence.js";
import type { Presence, RestoredHandler, StaleLeaveHandler } from "./presence/presence.js";
import { MemorySyncRecords } from "./sync-records/memory-sync-records.js";
import type { RoomSyncRecords, SyncRecord, SyncRecords } from "./sync-records/sync-records.js";

export { CHAT_RATE, type ChatVerdict, DUPLICATE_WINDOW_MS, SLOW_MODE_MAX_SECONDS } from "./chat-gate/chat-gate.js";
export type { RestoredHandler, StaleLeaveHandler } from "./presence/presence.js";
export type { RoomSyncRecords, SyncRecord } from "./sync-records/sync-records.js";

// Flat methods: kept until the callers move to the families (issue 14).
/** The pre-family surface of RealtimeState; each method is one family's (see the classes). */
export interface FlatRealtimeMethods extends PresenceReader {
  connect(roomId: string, hostId: string, userId: string, connectionId: string): Promise<{ firstForUser: boolean }>;
  disconnect(roomId: string, userId: string, connectionId: string): Promise<{ lastForUser: boolean }>;
  onlineUsers(roomId: string): Promise<Set<string>>;
  onlineSince(roomId: string): Promise<Map<string, number>>;
  setHost(roomId: string, hostId: string): Promise<void>;
  checkChat(roomId: string, userId: string, text: string, slowModeMs?: number): Promise<ChatVerdict>;
  refundChat(roomId: string, userId: string, text: string): Promise<void>;
  claimCommand(roomId: string, commandId: string, ttlMs: number): Promise<boolean>;
  releaseCommand(roomId: string, commandId: string): Promise<void>;
  setMuted(roomId: string, userId: string, muted: boolean, untilMs?: number | null): Promise<void>;
  isMuted(roomId: string, userId: string): Promise<boolean>;
  recordSync(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number): Promise<void>;
  syncReports(roomId: string): Promise<RoomSyncRecords>;
}

export interface RealtimeState extends FlatRealtimeMethods {
  readonly presence: Presence;
  readonly chatGate: ChatGate;
  /** The command ledger. */
  readonly commands: CommandLedger;
  readonly mutes: Mutes;
  readonly syncRecords: SyncRecords;
  /** Starts heartbeats, dead-peer detection and self-repair (cluster); a no-op in memory. */
  start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void>;
  close(options?: { forget?: boolean }): Promise<void>;
  /** Forgets everything about a room (expired or deleted): its presence, mutes and sync records. */
  clearRoom(roomId: string): Promise<void>;
}

/** What both composites share: the lifecycle (presence's), clearRoom and the flat methods. */
export abstract class RealtimeStateBase implements RealtimeState {
  abstract readonly presence: Presence;
  abstract readonly chatGate: ChatGate;
  abstract readonly commands: CommandLedger;
  abstract readonly mutes: Mutes;
  abstract readonly syncRecords: SyncRecords;

  start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void> {
    return this.presence.start(onStale, onRestored);
  }

  close(options?: { forget?: boolean }): Promise<void> {
    return this.presence.close(options);
  }

  async clearRoom(roomId: string): Promise<void> {
    await Promise.all([this.presence.clearRoom(roomId), this.mutes.clearRoom(roomId), this.syncRecords.clearRoom(roomId)]);
  }

  // Flat methods: kept until the callers move to the families (issue 14).
  connect(roomId: string, hostId: string, userId: string, connectionId: string) { return this.presence.connect(roomId, hostId, userId, connectionId); }
  disconnect(roomId: string, userId: string, connectionId: string) { return this.presence.disconnect(roomId, userId, connectionId); }
  onlineUsers(roomId: string) { return this.presence.onlineUsers(roomId); }
  onlineSince(roomId: string) { return this.presence.onlineSince(roomId); }
  setHost(roomId: string, hostId: string) { return this.presence.setHost(roomId, hostId); }
  roomPresence(roomIds: readonly string[]) { return this.presence.roomPresence(roomIds); }
  checkChat(roomId: string, userId: string, text: string, slowModeMs?: number) { return this.chatGate.check(roomId, userId, text, slowModeMs); }
  refundChat(roomId: string, userId: string, text: string) { return this.chatGate.refund(roomId, userId, text); }
  claimCommand(roomId: string, commandId: string, ttlMs: number) { return this.commands.claim(roomId, commandId, ttlMs); }
  releaseCommand(roomId: string, commandId: string) { return this.commands.release(roomId, commandId); }
  setMuted(roomId: string, userId: string, muted: boolean, untilMs?: number | null) { return muted ? this.mutes.mute(roomId, userId, untilMs) : this.mutes.unmute(roomId, userId); }
  isMuted(roomId: string, userId: string) { return this.mutes.isMuted(roomId, userId); }
  recordSync(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number) { return this.syncRecords.record(roomId, userId, record, corrected, ttlMs); }
  syncReports(roomId: string) { return this.syncRecords.read(roomId); }
}

/** The in-process realtime state (embedded mode, one instance). */
export class MemoryRealtimeState extends RealtimeStateBase {
  readonly presence = new MemoryPresence();
  readonly mutes = new MemoryMutes();
  /** Reads `mutes` synchronously, so a check stays one step. */
  readonly chatGate = new MemoryChatGate(this.mutes);
  readonly commands = new MemoryCommandLedger();
  readonly syncRecords = new MemorySyncRecords();

  /** Also frees the room's chat-gate entries and command claims (Redis lets those expire). */
  override async clearRoom(roomId: string): Promise<void> {
    this.chatGate.clearRoom(roomId);
    this.commands.clearRoom(roomId);
    await super.clearRoom(roomId);
  }
}
