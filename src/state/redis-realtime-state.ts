/**
 * Realtime state in Redis, for cluster mode. Every multi-step update is one Lua script.
 * Presence is recorded per instance: each instance heartbeats a key with a TTL, and any
 * instance that finds a dead peer reaps its connections (SPOP, so each one exactly once),
 * which heals viewer counts and reports users (and hosts) who thereby left. Each instance also
 * keeps a copy of its own connections and, on every heartbeat, puts back any that Redis lost
 * (a restart without persistence, a flush), so presence rebuilds without clients reconnecting.
 */
import { randomBytes } from "node:crypto";
import type { RedisClient } from "../redis.js";
import type { RoomPresence } from "./presence.js";
import {
  CHAT_RATE,
  type ChatVerdict,
  DUPLICATE_WINDOW_MS,
  type RealtimeState,
  type RestoredHandler,
  type RoomSyncRecords,
  type StaleLeaveHandler,
  type SyncRecord,
} from "./realtime-state.js";

// Idempotent per connection (a restore may have registered it already).
// KEYS[5] records when each user's first connection arrived (for host succession).
const CONNECT = `
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or 1) end
redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[5])
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
`;

// Re-registers one local connection if Redis lost it (same keys as CONNECT); 1 when it was missing.
const RESTORE = `
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[5])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
`;

// Returns -1 when the connection is unknown (already reaped), else the user's remaining count.
const DISCONNECT = `
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return -1 end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[3], ARGV[1]); return 0 end
return n
`;

// Pops one connection of a dead instance and decrements its user; {member, remaining} or nil.
const REAP_ONE = `
local m = redis.call('SPOP', KEYS[1])
if not m then
  redis.call('SREM', KEYS[2], ARGV[2])
  return false
end
local sep1 = string.find(m, '|', 1, true)
local sep2 = string.find(m, '|', sep1 + 1, true)
local room = string.sub(m, 1, sep1 - 1)
local user = string.sub(m, sep1 + 1, sep2 - 1)
local users = ARGV[1] .. 'rt:room:' .. room .. ':users'
local n = redis.call('HINCRBY', users, user, -1)
if n <= 0 then
  redis.call('HDEL', users, user)
  redis.call('HDEL', ARGV[1] .. 'rt:room:' .. room .. ':since', user)
end
return {m, n}
`;

const PRESENCE = `
local out = {}
for i, room in ipairs(ARGV) do
  if i > 1 then
    local users = ARGV[1] .. 'rt:room:' .. room .. ':users'
    local host = redis.call('GET', ARGV[1] .. 'rt:room:' .. room .. ':host')
    local online = 0
    if host then online = redis.call('HEXISTS', users, host) end
    table.insert(out, redis.call('HLEN', users))
    table.insert(out, online)
  end
end
return out
`;

// A mute in force (KEYS[1]: the room's mutes hash, user → until epoch ms, '0' = until lifted;
// ARGV[1]: user, ARGV[2]: now). An expired entry is removed. Shared by CHECK_CHAT and IS_MUTED.
const MUTED = `
local function muted()
  local untilMs = redis.call('HGET', KEYS[1], ARGV[1])
  if not untilMs then return false end
  if untilMs == '0' or tonumber(untilMs) > tonumber(ARGV[2]) then return true end
  redis.call('HDEL', KEYS[1], ARGV[1])
  return false
end
`;

const IS_MUTED = `${MUTED}
if muted() then return 1 end
return 0
`;

// KEYS: mutes hash, window zset, cooldown flag, last text, slow flag. ARGV: user, now, window
// ms, limit, cooldown ms, window member, text, duplicate window ms, slow mode ms. Returns the
// ChatVerdict.
const CHECK_CHAT = `${MUTED}
if muted() then return 'muted' end
local slow = tonumber(ARGV[9])
if slow > 0 and redis.call('EXISTS', KEYS[5]) == 1 then return 'slow_mode' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'rate_limited' end
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
redis.call('ZADD', KEYS[2], now, ARGV[6])
if redis.call('ZCARD', KEYS[2]) > tonumber(ARGV[4]) then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
  redis.call('DEL', KEYS[2])
  return 'rate_limited'
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if redis.call('GET', KEYS[4]) == ARGV[7] then return 'duplicate' end
redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[8])
if slow > 0 then redis.call('SET', KEYS[5], '1', 'PX', slow) end
return 'ok'
`;

// KEYS: the user's window, last text, slow-mode marker (as CHECK_CHAT). ARGV: the text.
const REFUND_CHAT = `
redis.call('ZPOPMAX', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('DEL', KEYS[3])
return 1
`;

/** The room's correction count shares the sync hash, under a field no user id can take. */
const SYNC_CORRECTIONS_FIELD = "#corrections";
// KEYS: the room's sync hash. ARGV: user, record JSON, '1' to count a correction, ttl ms.
const RECORD_SYNC = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], '${SYNC_CORRECTIONS_FIELD}', 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/** A sync record as stored: compact JSON, one hash field per user. */
function encodeSync(r: SyncRecord): string {
  return JSON.stringify({ d: r.drift, r: r.rttMs, b: r.buffering ? 1 : 0, t: r.at, n: r.displayName });
}

function decodeSync(text: string): SyncRecord | undefined {
  try {
    const v = JSON.parse(text) as { d?: unknown; r?: unknown; b?: unknown; t?: unknown; n?: unknown };
    if (typeof v.d !== "number" || typeof v.r !== "number" || typeof v.t !== "number" || typeof v.n !== "string") return undefined;
    return { drift: v.d, rttMs: v.r, buffering: v.b === 1, at: v.t, displayName: v.n };
  } catch {
    return undefined;
  }
}

export interface RedisRealtimeStateOptions {
  /** How long an instance counts as alive without a heartbeat. */
  instanceTtlMs?: number;
  /** How often this instance heartbeats and looks for dead peers. */
  heartbeatMs?: number;
}

export class RedisRealtimeState implements RealtimeState {
  readonly instanceId = randomBytes(8).toString("hex");
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | undefined;
  private onStale: StaleLeaveHandler | undefined;
  private onRestored: RestoredHandler | undefined;
  /** This instance's connections (member string → ids), to restore what Redis loses. */
  private readonly local = new Map<string, { roomId: string; hostId: string; userId: string }>();
  private reaping = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: RedisRealtimeStateOptions = {},
  ) {
    this.ttlMs = options.instanceTtlMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
  }

  async start(onStale: StaleLeaveHandler, onRestored?: RestoredHandler): Promise<void> {
    this.onStale = onStale;
    this.onRestored = onRestored;
    await this.beat();
    this.timer = setInterval(
      () =>
        void this.beat()
          .then(() => this.restoreLost())
          .then(() => this.reapDeadPeers())
          .catch(() => {}),
      this.heartbeatMs,
    );
    this.timer.unref();
  }

  /**
   * Puts back this instance's connections that Redis no longer has; then, if any were missing,
   * lets the owner restore what else it keeps there (mutes). Exposed for tests.
   */
  async restoreLost(): Promise<number> {
    if (this.local.size === 0) return 0;
    if ((await this.redis.sCard(this.instanceConns(this.instanceId))) >= this.local.size) return 0;
    const snapshot = [...this.local];
    const restored = await Promise.all(
      snapshot.map(
        ([member, { roomId, hostId, userId }]) =>
          this.redis.eval(RESTORE, {
            keys: [...this.presenceKeys(roomId), this.sinceKey(roomId)],
            arguments: [userId, hostId, member, this.instanceId, String(Date.now())],
          }) as Promise<number>,
      ),
    );
    // A connection that left while being restored must not linger as a ghost.
    await Promise.all(
      snapshot
        .filter(([member], i) => restored[i] === 1 && !this.local.has(member))
        .map(([member, { roomId, userId }]) =>
          this.redis.eval(DISCONNECT, { keys: [this.usersKey(roomId), this.instanceConns(this.instanceId), this.sinceKey(roomId)], arguments: [userId, member] }),
        ),
    );
    const count = restored.reduce((sum, n) => sum + n, 0);
    if (count > 0) await this.onRestored?.();
    return count;
  }

  /** Stops heartbeating. With `forget`, removes this instance's own presence at once. */
  async close(options: { forget?: boolean } = {}): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (options.forget && this.redis.isReady) {
      this.local.clear();
      await this.reap(this.instanceId).catch(() => {});
      await this.redis.del(this.key(`inst:${this.instanceId}:alive`)).catch(() => {});
    }
  }

  async connect(roomId: string, hostId: string, userId: string, connectionId: string) {
    const member = `${roomId}|${userId}|${connectionId}`;
    this.local.set(member, { roomId, hostId, userId });
    const count = (await this.redis.eval(CONNECT, {
      keys: [...this.presenceKeys(roomId), this.sinceKey(roomId)],
      arguments: [userId, hostId, member, this.instanceId, String(Date.now())],
    })) as number;
    return { firstForUser: count === 1 };
  }

  async disconnect(roomId: string, userId: string, connectionId: string) {
    this.local.delete(`${roomId}|${userId}|${connectionId}`);
    const left = (await this.redis.eval(DISCONNECT, {
      keys: [this.usersKey(roomId), this.instanceConns(this.instanceId), this.sinceKey(roomId)],
      arguments: [userId, `${roomId}|${userId}|${connectionId}`],
    })) as number;
    return { lastForUser: left === 0 };
  }

  async onlineUsers(roomId: string) {
    return new Set(await this.redis.hKeys(this.usersKey(roomId)));
  }

  async onlineSince(roomId: string) {
    const [since, online] = await Promise.all([this.redis.hGetAll(this.sinceKey(roomId)), this.redis.hKeys(this.usersKey(roomId))]);
    return new Map(online.map((userId) => [userId, Number(since[userId] ?? Date.now())]));
  }

  async setHost(roomId: string, hostId: string) {
    for (const entry of this.local.values()) if (entry.roomId === roomId) entry.hostId = hostId;
    await this.redis.set(this.key(`room:${roomId}:host`), hostId);
  }

  async roomPresence(roomIds: readonly string[]) {
    const result = new Map<string, RoomPresence>();
    if (roomIds.length === 0) return result;
    const flat = (await this.redis.eval(PRESENCE, { keys: [], arguments: [this.prefix, ...roomIds] })) as number[];
    roomIds.forEach((id, i) => {
      const viewers = flat[i * 2] ?? 0;
      if (viewers > 0) result.set(id, { viewers, hostOnline: flat[i * 2 + 1] === 1 });
    });
    return result;
  }

  async checkChat(roomId: string, userId: string, text: string, slowModeMs = 0): Promise<ChatVerdict> {
    const base = this.key(`chat:${roomId}:${userId}`);
    const now = Date.now();
    return (await this.redis.eval(CHECK_CHAT, {
      keys: [this.mutesKey(roomId), `${base}:window`, `${base}:cooldown`, `${base}:last`, `${base}:slow`],
      arguments: [
        userId,
        String(now),
        String(CHAT_RATE.windowMs),
        String(CHAT_RATE.limit),
        String(CHAT_RATE.cooldownMs),
        `${now}-${randomBytes(4).toString("hex")}`,
        text,
        String(DUPLICATE_WINDOW_MS),
        String(slowModeMs),
      ],
    })) as ChatVerdict;
  }

  async refundChat(roomId: string, userId: string, text: string): Promise<void> {
    const base = this.key(`chat:${roomId}:${userId}`);
    await this.redis.eval(REFUND_CHAT, { keys: [`${base}:window`, `${base}:last`, `${base}:slow`], arguments: [text] });
  }

  async claimCommand(roomId: string, commandId: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.key(`room:${roomId}:cmd:${commandId}`), "1", { NX: true, PX: ttlMs })) === "OK";
  }

  async releaseCommand(roomId: string, commandId: string): Promise<void> {
    await this.redis.del(this.key(`room:${roomId}:cmd:${commandId}`));
  }

  async setMuted(roomId: string, userId: string, muted: boolean, untilMs?: number | null) {
    if (muted) await this.redis.hSet(this.mutesKey(roomId), userId, String(untilMs ?? 0));
    else await this.redis.hDel(this.mutesKey(roomId), userId);
  }

  async isMuted(roomId: string, userId: string) {
    return (await this.redis.eval(IS_MUTED, { keys: [this.mutesKey(roomId)], arguments: [userId, String(Date.now())] })) === 1;
  }

  async recordSync(roomId: string, userId: string, record: SyncRecord, corrected: boolean, ttlMs: number) {
    await this.redis.eval(RECORD_SYNC, {
      keys: [this.syncKey(roomId)],
      arguments: [userId, encodeSync(record), corrected ? "1" : "0", String(Math.max(1, Math.round(ttlMs)))],
    });
  }

  async syncReports(roomId: string): Promise<RoomSyncRecords> {
    const fields = await this.redis.hGetAll(this.syncKey(roomId));
    const records = new Map<string, SyncRecord>();
    let corrections = 0;
    for (const [field, value] of Object.entries(fields)) {
      if (field === SYNC_CORRECTIONS_FIELD) corrections = Number(value) || 0;
      else {
        const record = decodeSync(value);
        if (record) records.set(field, record);
      }
    }
    return { records, corrections };
  }

  async clearRoom(roomId: string) {
    await this.redis.del([this.usersKey(roomId), this.sinceKey(roomId), this.key(`room:${roomId}:host`), this.mutesKey(roomId), this.syncKey(roomId)]);
  }

  // ---- heartbeat and reaping -------------------------------------------------------------

  private async beat(): Promise<void> {
    await this.redis.set(this.key(`inst:${this.instanceId}:alive`), "1", { PX: this.ttlMs });
    await this.redis.sAdd(this.key("instances"), this.instanceId);
  }

  /** Reaps every instance whose heartbeat has lapsed. Exposed for tests and the worker. */
  async reapDeadPeers(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      for (const id of await this.redis.sMembers(this.key("instances"))) {
        if (id === this.instanceId) continue;
        if ((await this.redis.exists(this.key(`inst:${id}:alive`))) === 1) continue;
        await this.reap(id);
      }
    } finally {
      this.reaping = false;
    }
  }

  private async reap(instanceId: string): Promise<void> {
    for (;;) {
      const popped = (await this.redis.eval(REAP_ONE, {
        keys: [this.instanceConns(instanceId), this.key("instances")],
        arguments: [this.prefix, instanceId],
      })) as [string, number] | null;
      if (!popped) return;
      const [member, remaining] = popped;
      const [roomId, userId] = member.split("|") as [string, string];
      if (remaining <= 0 && this.onStale) await this.onStale(roomId, userId).catch(() => {});
    }
  }

  private key(suffix: string): string {
    return `${this.prefix}rt:${suffix}`;
  }

  private syncKey(roomId: string): string {
    return this.key(`room:${roomId}:sync`);
  }

  /** The room's mutes: a hash user → until (epoch ms, "0" = until lifted). */
  private mutesKey(roomId: string): string {
    return this.key(`room:${roomId}:mutes`);
  }

  private usersKey(roomId: string): string {
    return this.key(`room:${roomId}:users`);
  }

  private sinceKey(roomId: string): string {
    return this.key(`room:${roomId}:since`);
  }

  /** The keys CONNECT and RESTORE take first: users, host, this instance's connections, instances. */
  private presenceKeys(roomId: string): string[] {
    return [this.usersKey(roomId), this.key(`room:${roomId}:host`), this.instanceConns(this.instanceId), this.key("instances")];
  }

  private instanceConns(instanceId: string): string {
    return this.key(`inst:${instanceId}:conns`);
  }
}
