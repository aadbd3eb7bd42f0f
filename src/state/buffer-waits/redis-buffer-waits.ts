/** Buffering waits in Redis: per room a set of buffering users, the wait (JSON), a set catching up and a hash of cooldowns. */
import type { RedisClient } from "../../redis.js";
import { END_WAIT } from "../lua/buffer-waits.js";
import { RealtimeKeys } from "../redis-keys.js";
import { BUFFER_WAITS_TTL_SECONDS, type BufferingView, type BufferWait, type BufferWaits, type Reported } from "./buffer-waits.js";

export class RedisBufferWaits implements BufferWaits {
  private readonly keys: RealtimeKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new RealtimeKeys(prefix);
  }

  async report(roomId: string, userId: string, buffering: boolean, now: number): Promise<Reported> {
    const k = this.keys.buffering(roomId);
    // One transaction: the view is the one this report made.
    const multi = this.redis.multi();
    if (buffering) multi.sAdd(k.users, userId);
    else multi.sRem(k.users, userId).sRem(k.catchingUp, userId);
    const writes = buffering ? 1 : 2;
    multi.expire(k.users, BUFFER_WAITS_TTL_SECONDS);
    const replies = await readInto(multi, k).exec();
    return { ...view(replies.slice(writes + 1), now), changed: Number(replies[0]) > 0, caughtUp: !buffering && Number(replies[1]) > 0 };
  }

  async read(roomId: string, now: number): Promise<BufferingView> {
    return view(await readInto(this.redis.multi(), this.keys.buffering(roomId)).exec(), now);
  }

  async begin(roomId: string, wait: BufferWait): Promise<boolean> {
    const set = await this.redis.set(this.keys.buffering(roomId).wait, JSON.stringify(wait), { NX: true, EX: BUFFER_WAITS_TTL_SECONDS });
    return set === "OK";
  }

  async end(roomId: string, version: number): Promise<BufferWait | undefined> {
    const raw = await this.redis.eval(END_WAIT, { keys: [this.keys.buffering(roomId).wait], arguments: [String(version)] });
    return typeof raw === "string" ? (JSON.parse(raw) as BufferWait) : undefined;
  }

  async leftBehind(roomId: string, userIds: readonly string[], until: number): Promise<void> {
    if (userIds.length === 0) return;
    const k = this.keys.buffering(roomId);
    await this.redis
      .multi()
      .sAdd(k.catchingUp, [...userIds])
      .hSet(k.cooldown, Object.fromEntries(userIds.map((id) => [id, String(until)])))
      .expire(k.catchingUp, BUFFER_WAITS_TTL_SECONDS)
      .expire(k.cooldown, BUFFER_WAITS_TTL_SECONDS)
      .exec();
  }

  async clearRoom(roomId: string): Promise<void> {
    const k = this.keys.buffering(roomId);
    await this.redis.del([k.users, k.wait, k.catchingUp, k.cooldown]);
  }
}

type Multi = ReturnType<RedisClient["multi"]>;

/** Queues the four reads of a room's state (users, wait, catching up, cooldowns) on `multi`. */
function readInto(multi: Multi, k: ReturnType<RealtimeKeys["buffering"]>): Multi {
  return multi.sMembers(k.users).get(k.wait).sMembers(k.catchingUp).hGetAll(k.cooldown) as unknown as Multi;
}

function view(replies: unknown[], now: number): BufferingView {
  const [users, wait, catchingUp, cooldown] = replies as [string[], string | null, string[], Record<string, string>];
  return {
    buffering: new Set(users),
    wait: wait ? (JSON.parse(wait) as BufferWait) : null,
    catchingUp: new Set(catchingUp),
    // Cooldowns over are left for the next resume's write (or the TTL): harmless.
    cooldown: new Map(
      Object.entries(cooldown)
        .map(([id, until]) => [id, Number(until)] as const)
        .filter(([, until]) => until > now),
    ),
  };
}
