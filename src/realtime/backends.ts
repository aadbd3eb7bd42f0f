/**
 * The realtime backends of each mode. Embedded: in-process bus, state and timers. Cluster:
 * the Redis event bus (every room broadcast crosses instances there), Redis realtime state,
 * BullMQ grace jobs and the sharded Socket.IO Redis adapter (Socket.IO's own cluster features).
 */

import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { ServerOptions } from "socket.io";
import type { Config } from "../config.js";
import type { DB } from "../db.js";
import { RedisRoomEventBus } from "../events/redis-bus.js";
import { LocalRoomEventBus, type RoomEventBus } from "../events/room-events.js";
import { BullmqScheduler } from "../lifecycle/bullmq.js";
import { type GraceScheduler, TimerScheduler } from "../lifecycle/scheduler.js";
import { RoomLifecycle } from "../lifecycle/service.js";
import { BullmqPartyScheduler } from "../party/bullmq.js";
import { type PartyScheduler, PartyTimers } from "../party/scheduler.js";
import { PartyService } from "../party/service.js";
import { type RedisClient, withRequestTimeout } from "../redis.js";
import { MemoryRealtimeState, type RealtimeState } from "../state/realtime-state.js";
import { RedisRealtimeState } from "../state/redis-realtime-state.js";
import { MemoryRoomLog, RedisRoomLog, type RoomLog } from "../state/room-log.js";

export interface RealtimeBackends {
  events: RoomEventBus;
  state: RealtimeState;
  scheduler: GraceScheduler;
  lifecycle: RoomLifecycle;
  /** Scheduled parties, started by timers (embedded) or by the lifecycle worker's jobs (cluster). */
  parties: PartyService;
  partyScheduler: PartyScheduler;
  /** The room event log and resume tokens (resumable sessions). */
  log: RoomLog;
  adapter: ServerOptions["adapter"] | undefined;
  /** Closes what the backends opened (not the shared Redis client). */
  close(): Promise<void>;
}

export async function createRealtimeBackends(
  config: Config,
  db: DB,
  redis: RedisClient | undefined,
  onRedisError: (err: Error) => void,
): Promise<RealtimeBackends> {
  if (!config.clusterMode || !redis || !config.REDIS_URL) {
    const events = new LocalRoomEventBus();
    const state = new MemoryRealtimeState();
    let lifecycle: RoomLifecycle | undefined;
    const scheduler = new TimerScheduler(async (roomId) => void (await lifecycle!.expire(roomId)));
    lifecycle = new RoomLifecycle(db, events, state, scheduler, config.GRACE_PERIOD_SECONDS, config.HOST_RECLAIM_SECONDS);
    let parties: PartyService | undefined;
    const partyScheduler = new PartyTimers((roomId, startsAt) => parties!.start(roomId, startsAt));
    parties = new PartyService(db, events, partyScheduler, partyOptions(config));
    return {
      events,
      state,
      scheduler,
      lifecycle,
      parties,
      partyScheduler,
      log: new MemoryRoomLog(),
      adapter: undefined,
      close: async () => partyScheduler.close(),
    };
  }

  const prefix = config.REDIS_PREFIX;
  const events = await RedisRoomEventBus.create(redis, prefix, onRedisError);
  const ttlMs = config.PRESENCE_TTL_SECONDS * 1000;
  const state = new RedisRealtimeState(withRequestTimeout(redis, config.REDIS_COMMAND_TIMEOUT_MS), prefix, {
    instanceTtlMs: ttlMs,
    heartbeatMs: Math.max(250, Math.floor(ttlMs / 3)),
  });
  const scheduler = BullmqScheduler.create(config.REDIS_URL, prefix);
  const lifecycle = new RoomLifecycle(db, events, state, scheduler, config.GRACE_PERIOD_SECONDS, config.HOST_RECLAIM_SECONDS);
  const partyScheduler = BullmqPartyScheduler.create(config.REDIS_URL, prefix);
  const parties = new PartyService(db, events, partyScheduler, partyOptions(config));
  const adapterSubscriber = redis.duplicate();
  adapterSubscriber.on("error", onRedisError);
  await adapterSubscriber.connect();
  const adapter = createShardedAdapter(redis, adapterSubscriber, {
    subscriptionMode: "dynamic",
    channelPrefix: `${prefix}sio`,
  });
  return {
    events,
    state,
    scheduler,
    lifecycle,
    parties,
    partyScheduler,
    log: new RedisRoomLog(withRequestTimeout(redis, config.REDIS_COMMAND_TIMEOUT_MS), prefix),
    adapter,
    async close() {
      await Promise.allSettled([
        events.close(),
        adapterSubscriber.isOpen ? adapterSubscriber.quit() : Promise.resolve(),
        partyScheduler.close(),
      ]);
    },
  };
}

/** A party start fires the most start lead early and is anchored at the party time itself. */
const partyOptions = (config: Config) => ({
  maxDaysAhead: config.PARTY_MAX_DAYS_AHEAD,
  leadMs: config.START_LEAD_MAX_MS,
  lateLeadMs: Math.min(config.START_LEAD_MIN_MS, config.START_LEAD_MAX_MS),
});
