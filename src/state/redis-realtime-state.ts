/**
 * The realtime state in Redis, for cluster mode: one Redis implementation of each family under
 * one key prefix (layout: ./redis-keys.ts; scripts: ./lua/). Presence carries the instance's
 * heartbeat, dead-peer reaping and self-repair (./presence/redis-presence.ts).
 */
import type { RedisClient } from "../redis.js";
import { RedisBufferWaits } from "./buffer-waits/redis-buffer-waits.js";
import { RedisChatGate } from "./chat-gate/redis-chat-gate.js";
import { RedisCommandLedger } from "./command-ledger/redis-command-ledger.js";
import { RedisMutes } from "./mutes/redis-mutes.js";
import { RedisPresence, type RedisPresenceOptions } from "./presence/redis-presence.js";
import { RealtimeStateBase } from "./realtime-state.js";
import { RedisSkipVotes } from "./skip-votes/redis-skip-votes.js";
import { RedisSyncRecords } from "./sync-records/redis-sync-records.js";

export type RedisRealtimeStateOptions = RedisPresenceOptions;

export class RedisRealtimeState extends RealtimeStateBase {
  readonly presence: RedisPresence;
  readonly chatGate: RedisChatGate;
  readonly commands: RedisCommandLedger;
  readonly mutes: RedisMutes;
  readonly syncRecords: RedisSyncRecords;
  readonly skipVotes: RedisSkipVotes;
  readonly bufferWaits: RedisBufferWaits;

  constructor(redis: RedisClient, prefix: string, options: RedisRealtimeStateOptions = {}) {
    super();
    this.presence = new RedisPresence(redis, prefix, options);
    this.chatGate = new RedisChatGate(redis, prefix);
    this.commands = new RedisCommandLedger(redis, prefix);
    this.mutes = new RedisMutes(redis, prefix);
    this.syncRecords = new RedisSyncRecords(redis, prefix);
    this.skipVotes = new RedisSkipVotes(redis, prefix);
    this.bufferWaits = new RedisBufferWaits(redis, prefix);
  }

  /** This instance's id (its presence heartbeat). */
  get instanceId(): string {
    return this.presence.instanceId;
  }
}
