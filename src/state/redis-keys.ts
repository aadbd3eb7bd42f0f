/**
 * The Redis key layout of the realtime state, in one place because families share keys: the
 * chat gate reads the mutes hash, and the presence scripts REAP_ONE and ROOM_PRESENCE rebuild
 * `users`, `since` and `host` keys from the prefix themselves (keep them in step with these).
 *
 *   {prefix}rt:instances                 set of instance ids (presence)
 *   {prefix}rt:inst:{id}:alive           heartbeat flag with a TTL (presence)
 *   {prefix}rt:inst:{id}:conns           set of "room|user|connection" members (presence)
 *   {prefix}rt:room:{room}:users         hash user → connection count (presence)
 *   {prefix}rt:room:{room}:since         hash user → epoch ms of the first connection (presence)
 *   {prefix}rt:room:{room}:host          the room's host id (presence)
 *   {prefix}rt:room:{room}:mutes         hash user → until epoch ms, "0" = until lifted (mutes)
 *   {prefix}rt:room:{room}:sync          hash user → record JSON, plus "#corrections" (sync records)
 *   {prefix}rt:room:{room}:buf:users|wait|catching|cooldown   buffering waits (set, JSON, set, hash user → until ms)
 *   {prefix}rt:room:{room}:cmd:{command} claimed command id, with a TTL (command ledger)
 *   {prefix}rt:chat:{room}:{user}:window|cooldown|last|slow   the chat gate's per-user keys
 */
export class RealtimeKeys {
  constructor(readonly prefix: string) {}

  key(suffix: string): string {
    return `${this.prefix}rt:${suffix}`;
  }

  instances(): string {
    return this.key("instances");
  }

  instanceAlive(instanceId: string): string {
    return this.key(`inst:${instanceId}:alive`);
  }

  instanceConns(instanceId: string): string {
    return this.key(`inst:${instanceId}:conns`);
  }

  roomUsers(roomId: string): string {
    return this.key(`room:${roomId}:users`);
  }

  roomSince(roomId: string): string {
    return this.key(`room:${roomId}:since`);
  }

  roomHost(roomId: string): string {
    return this.key(`room:${roomId}:host`);
  }

  roomMutes(roomId: string): string {
    return this.key(`room:${roomId}:mutes`);
  }

  /** The users who voted to skip the room's media item. */
  skipVotes(roomId: string, itemId: string): string {
    return this.key(`room:${roomId}:skip:${itemId}`);
  }

  /** A room's buffering waits: who buffers, the wait, who catches up, who cools down. */
  buffering(roomId: string): { users: string; wait: string; catchingUp: string; cooldown: string } {
    const base = this.key(`room:${roomId}:buf`);
    return { users: `${base}:users`, wait: `${base}:wait`, catchingUp: `${base}:catching`, cooldown: `${base}:cooldown` };
  }

  roomSync(roomId: string): string {
    return this.key(`room:${roomId}:sync`);
  }

  command(roomId: string, commandId: string): string {
    return this.key(`room:${roomId}:cmd:${commandId}`);
  }

  /** The chat gate's keys for one user in one room. */
  chat(roomId: string, userId: string): { window: string; cooldown: string; last: string; slow: string } {
    const base = this.key(`chat:${roomId}:${userId}`);
    return { window: `${base}:window`, cooldown: `${base}:cooldown`, last: `${base}:last`, slow: `${base}:slow` };
  }
}
