/**
 * Realtime state shared by every connection of a room, by key family: presence (per user,
 * across tabs), the chat gate (mutes, slow mode, rate limit, duplicate window), the command
 * ledger, mutes, the latest sync report per user, skip votes and buffering waits. Each family has an in-process and a Redis
 * implementation with the same contract (./presence/, ./chat-gate/, ./command-ledger/,
 * ./mutes/, ./sync-records/); this composite holds one of each. MemoryRealtimeState is the
 * in-process one; RedisRealtimeState (./redis-realtime-state.ts) serves cluster mode.
 */
import type { BufferWaits } from "./buffer-waits/buffer-waits.js";
import { MemoryBufferWaits } from "./buffer-waits/memory-buffer-waits.js";
import type { ChatGate } from "./chat-gate/chat-gate.js";
import { MemoryChatGate } from "./chat-gate/memory-chat-gate.js";
import type { CommandLedger } from "./command-ledger/command-ledger.js";
import { MemoryCommandLedger } from "./command-ledger/memory-command-ledger.js";
import { MemoryMutes } from "./mutes/memory-mutes.js";
import type { Mutes } from "./mutes/mutes.js";
import { MemoryPresence } from "./presence/memory-presence.js";
import type { Presence, RestoredHandler, StaleLeaveHandler } from "./presence/presence.js";
import { MemorySkipVotes } from "./skip-votes/memory-skip-votes.js";
import type { SkipVotes } from "./skip-votes/skip-votes.js";
import { MemorySyncRecords } from "./sync-records/memory-sync-records.js";
import type { SyncRecords } from "./sync-records/sync-records.js";

export { CHAT_RATE, type ChatVerdict, DUPLICATE_WINDOW_MS, SLOW_MODE_MAX_SECONDS } from "./chat-gate/chat-gate.js";
export type { RestoredHandler, StaleLeaveHandler } from "./presence/presence.js";
export type { RoomSyncRecords, SyncRecord } from "./sync-records/sync-records.js";

export interface RealtimeState {
  readonly presence: Presence;
  readonly chatGate: ChatGate;
  /** The command ledger. */
  readonly commands: CommandLedger;
  readonly mutes: Mutes;
  readonly syncRecords: SyncRecords;
  readonly skipVotes: SkipVotes;
  readonly bufferWaits: BufferWaits;
  /** Starts heartbeats, dead-peer detection and self-repair (cluster); a no-op in memory. */
  start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void>;
  close(options?: { forget?: boolean }): Promise<void>;
  /** Forgets everything about a room (expired or deleted): its presence, mutes and sync records. */
  clearRoom(roomId: string): Promise<void>;
}

/** What both composites share: the lifecycle (presence's) and clearRoom. */
export abstract class RealtimeStateBase implements RealtimeState {
  abstract readonly presence: Presence;
  abstract readonly chatGate: ChatGate;
  abstract readonly commands: CommandLedger;
  abstract readonly mutes: Mutes;
  abstract readonly syncRecords: SyncRecords;
  abstract readonly skipVotes: SkipVotes;
  abstract readonly bufferWaits: BufferWaits;

  start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void> {
    return this.presence.start(onStale, onRestored);
  }

  close(options?: { forget?: boolean }): Promise<void> {
    return this.presence.close(options);
  }

  async clearRoom(roomId: string): Promise<void> {
    await Promise.all([
      this.presence.clearRoom(roomId),
      this.mutes.clearRoom(roomId),
      this.syncRecords.clearRoom(roomId),
      this.skipVotes.clearRoom(roomId),
      this.bufferWaits.clearRoom(roomId),
    ]);
  }
}

/** The in-process realtime state (embedded mode, one instance). */
export class MemoryRealtimeState extends RealtimeStateBase {
  readonly presence = new MemoryPresence();
  readonly mutes = new MemoryMutes();
  /** Reads `mutes` synchronously, so a check stays one step. */
  readonly chatGate = new MemoryChatGate(this.mutes);
  readonly commands = new MemoryCommandLedger();
  readonly syncRecords = new MemorySyncRecords();
  readonly skipVotes = new MemorySkipVotes();
  readonly bufferWaits = new MemoryBufferWaits();

  /** Also frees the room's chat-gate entries and command claims (Redis lets those expire). */
  override async clearRoom(roomId: string): Promise<void> {
    this.chatGate.clearRoom(roomId);
    this.commands.clearRoom(roomId);
    await super.clearRoom(roomId);
  }
}
