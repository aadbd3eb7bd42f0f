/**
 * Presence in Redis, for cluster mode. Every multi-step update is one Lua script (../lua/presence.ts).
 * Presence is recorded per instance: each instance heartbeats a key with a TTL, and any
 * instance that finds a dead peer reaps its connections (SPOP, so each one exactly once),
 * which heals viewer counts and reports users (and hosts) who thereby left. Each instance also
 * keeps a copy of its own connections and, on every heartbeat, puts back any that Redis lost
 * (a restart without persistence, a flush), so presence rebuilds without clients reconnecting.
 */
import { randomBytes } from "node:crypto";
import type { RedisClient } from "../../redis.js";
import { CONNECT, DISCONNECT, REAP_ONE, RESTORE, ROOM_PRESENCE } from "../lua/presence.js";
import type { RoomPresence } from "../presence.js";
import { RealtimeKeys } from "../redis-keys.js";
import type { Presence, RestoredHandler, StaleLeaveHandler } from "./presence.js";

export interface RedisPresenceOptions {
  /** How long an instance counts as alive without a heartbeat. */
  instanceTtlMs?: number;
  /** How often this instance heartbeats and looks for dead peers. */
  heartbeatMs?: number;
}

interface LocalConnection {
  roomId: string;
  hostId: string;
  userId: string;
}

export class RedisPresence implements Presence {
  readonly instanceId = randomBytes(8).toString("hex");
  private readonly keys: RealtimeKeys;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | undefined;
  private onStale: StaleLeaveHandler | undefined;
  private onRestored: RestoredHandler | undefined;
  /** This instance's connections (member string → ids), to restore what Redis loses. */
  private readonly local = new Map<string, LocalConnection>();
  private reaping = false;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    options: RedisPresenceOptions = {},
  ) {
    this.keys = new RealtimeKeys(prefix);
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

  /** Stops heartbeating. With `forget`, removes this instance's own presence at once. */
  async close(options: { forget?: boolean } = {}): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (options.forget && this.redis.isReady) {
      this.local.clear();
      await this.reap(this.instanceId).catch(() => {});
      await this.redis.del(this.keys.instanceAlive(this.instanceId)).catch(() => {});
    }
  }

  async connect(roomId: string, hostId: string, userId: string, connectionId: string) {
    const member = `${roomId}|${userId}|${connectionId}`;
    this.local.set(member, { roomId, hostId, userId });
    const count = (await this.redis.eval(CONNECT, this.registration(member, { roomId, hostId, userId }))) as number;
    return { firstForUser: count === 1 };
  }

  async disconnect(roomId: string, userId: string, connectionId: string) {
    const member = `${roomId}|${userId}|${connectionId}`;
    this.local.delete(member);
    const left = (await this.redis.eval(DISCONNECT, this.removal(member, roomId, userId))) as number;
    return { lastForUser: left === 0 };
  }

  async onlineUsers(roomId: string) {
    return new Set(await this.redis.hKeys(this.keys.roomUsers(roomId)));
  }

  async onlineSince(roomId: string) {
    const [since, online] = await Promise.all([
      this.redis.hGetAll(this.keys.roomSince(roomId)),
      this.redis.hKeys(this.keys.roomUsers(roomId)),
    ]);
    return new Map(online.map((userId) => [userId, Number(since[userId] ?? Date.now())]));
  }

  async setHost(roomId: string, hostId: string) {
    for (const entry of this.local.values()) if (entry.roomId === roomId) entry.hostId = hostId;
    await this.redis.set(this.keys.roomHost(roomId), hostId);
  }

  async roomPresence(roomIds: readonly string[]) {
    const result = new Map<string, RoomPresence>();
    if (roomIds.length === 0) return result;
    const flat = (await this.redis.eval(ROOM_PRESENCE, { keys: [], arguments: [this.keys.prefix, ...roomIds] })) as number[];
    roomIds.forEach((id, i) => {
      const viewers = flat[i * 2] ?? 0;
      if (viewers > 0) result.set(id, { viewers, hostOnline: flat[i * 2 + 1] === 1 });
    });
    return result;
  }

  async clearRoom(roomId: string) {
    await this.redis.del([this.keys.roomUsers(roomId), this.keys.roomSince(roomId), this.keys.roomHost(roomId)]);
  }

  /**
   * Puts back this instance's connections that Redis no longer has; then, if any were missing,
   * lets the owner restore what else it keeps there (mutes). Exposed for tests.
   */
  async restoreLost(): Promise<number> {
    if (this.local.size === 0) return 0;
    if ((await this.redis.sCard(this.keys.instanceConns(this.instanceId))) >= this.local.size) return 0;
    const snapshot = [...this.local];
    const restored = await Promise.all(
      snapshot.map(([member, entry]) => this.redis.eval(RESTORE, this.registration(member, entry)) as Promise<number>),
    );
    // A connection that left while being restored must not linger as a ghost.
    await Promise.all(
      snapshot
        .filter(([member], i) => restored[i] === 1 && !this.local.has(member))
        .map(([member, { roomId, userId }]) => this.redis.eval(DISCONNECT, this.removal(member, roomId, userId))),
    );
    const count = restored.reduce((sum, n) => sum + n, 0);
    if (count > 0) await this.onRestored?.();
    return count;
  }

  /** Reaps every instance whose heartbeat has lapsed. Exposed for tests and the worker. */
  async reapDeadPeers(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      for (const id of await this.redis.sMembers(this.keys.instances())) {
        if (id === this.instanceId) continue;
        if ((await this.redis.exists(this.keys.instanceAlive(id))) === 1) continue;
        await this.reap(id);
      }
    } finally {
      this.reaping = false;
    }
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.keys.instanceAlive(this.instanceId), "1", { PX: this.ttlMs });
    await this.redis.sAdd(this.keys.instances(), this.instanceId);
  }

  private async reap(instanceId: string): Promise<void> {
    for (;;) {
      const popped = (await this.redis.eval(REAP_ONE, {
        keys: [this.keys.instanceConns(instanceId), this.keys.instances()],
        arguments: [this.keys.prefix, instanceId],
      })) as [string, number] | null;
      if (!popped) return;
      const [member, remaining] = popped;
      const [roomId, userId] = member.split("|") as [string, string];
      if (remaining <= 0 && this.onStale) await this.onStale(roomId, userId).catch(() => {});
    }
  }

  /** CONNECT's and RESTORE's keys and arguments for one of this instance's connections. */
  private registration(member: string, { roomId, hostId, userId }: LocalConnection) {
    return {
      keys: [
        this.keys.roomUsers(roomId),
        this.keys.roomHost(roomId),
        this.keys.instanceConns(this.instanceId),
        this.keys.instances(),
        this.keys.roomSince(roomId),
      ],
      arguments: [userId, hostId, member, this.instanceId, String(Date.now())],
    };
  }

  /** DISCONNECT's keys and arguments for one of this instance's connections. */
  private removal(member: string, roomId: string, userId: string) {
    return {
      keys: [this.keys.roomUsers(roomId), this.keys.instanceConns(this.instanceId), this.keys.roomSince(roomId)],
      arguments: [userId, member],
    };
  }
}
