/** `npm run expire-rooms`: expires GRACE rooms whose grace has passed (the original `expire_rooms`). */
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db.js";
import { RedisRoomEventBus } from "../src/events/redis-bus.js";
import { LocalRoomEventBus, type RoomEventBus } from "../src/events/room-events.js";
import type { GraceScheduler } from "../src/lifecycle/scheduler.js";
import { RoomLifecycle } from "../src/lifecycle/service.js";
import { connectRedis } from "../src/redis.js";
import { MemoryRealtimeState } from "../src/state/realtime-state.js";
import { RedisRealtimeState } from "../src/state/redis-realtime-state.js";

const config = loadConfig();
const database = await openDatabase(config.database);
// In cluster mode the expiries are announced, so web instances close those rooms' sockets.
const redis = config.clusterMode && config.REDIS_URL ? await connectRedis(config.REDIS_URL, () => {}) : undefined;
try {
  const events: RoomEventBus = redis ? await RedisRoomEventBus.create(redis, config.REDIS_PREFIX, () => {}) : new LocalRoomEventBus();
  const noScheduling: GraceScheduler = { schedule() {}, cancel() {}, close() {} };
  // Presence decides host succession: in cluster mode it is the web instances' (read only here).
  const state = redis ? new RedisRealtimeState(redis, config.REDIS_PREFIX) : new MemoryRealtimeState();
  const lifecycle = new RoomLifecycle(database.db, events, state, noScheduling, config.GRACE_PERIOD_SECONDS, config.HOST_RECLAIM_SECONDS);
  console.log(`Expired ${await lifecycle.sweep()} room(s)`);
  if (events instanceof RedisRoomEventBus) await events.close();
} finally {
  await redis?.quit().catch(() => {});
  await database.close();
}
