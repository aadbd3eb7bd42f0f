/**
 * The room event log behind resumable sessions. Every room-wide message that changes what a
 * client shows (chat, playback, presence, moderation, host and source changes) is appended once
 * and gets the room's next sequence number, which travels with the message. A client that drops
 * and comes back within the resume window presents its resume token and the highest `seq` it
 * saw, and gets the messages after it, in order, instead of a full re-join.
 *
 * Appends are idempotent per key: every instance may append the same room event (each reacts to
 * the bus on its own) and all get the same number. The log keeps the last `maxEntries` per room;
 * a client whose position fell out of it (or whose log Redis lost) gets a full re-join instead.
 */
import { randomBytes } from "node:crypto";
import type { RedisClient } from "../redis.js";

export interface LogEntry {
  seq: number;
  /** The message as encoded JSON (without its seq). */
  json: string;
}

/** Who may resume with a token: the connection it was issued to. */
export interface ResumeHold {
  userId: string;
  roomId: string;
  connectionId: string;
}

export interface RoomLog {
  /** Appends a message once per `key`; returns its sequence number (the same for a repeat). */
  append(roomId: string, key: string, json: string): Promise<number>;
  /** The latest sequence number of the room (0 when nothing was logged). */
  head(roomId: string): Promise<number>;
  /** The entries after `afterSeq`, in order; null when some of them are no longer kept. */
  since(roomId: string, afterSeq: number): Promise<LogEntry[] | null>;
  /** Issues a resume token for a connection, valid for `ttlMs` (renewed by hold). */
  issue(hold: ResumeHold, ttlMs: number): Promise<string>;
  /** Keeps a token valid for `ttlMs` more (its connection dropped: the resume window starts). */
  hold(token: string, ttlMs: number): Promise<void>;
  /** Uses a token up: returns what it was issued for, or null (unknown, expired, used). */
  take(token: string): Promise<ResumeHold | null>;
  /** Forgets a token (its connection left for good). */
  drop(token: string): Promise<void>;
  clearRoom(roomId: string): Promise<void>;
}

export const LOG_MAX_ENTRIES = 1000;
/** How long a repeated append of the same key still gets the first one's number. */
const DEDUPE_TTL_MS = 60_000;
/** An idle room's log (and counter) is dropped after this long. */
const LOG_IDLE_TTL_MS = 60 * 60 * 1000;

export const newResumeToken = (): string => randomBytes(18).toString("base64url");

export class MemoryRoomLog implements RoomLog {
  private readonly rooms = new Map<string, { seq: number; entries: LogEntry[]; keys: Map<string, { seq: number; at: number }> }>();
  private readonly tokens = new Map<string, { hold: ResumeHold; until: number }>();

  async append(roomId: string, key: string, json: string): Promise<number> {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = { seq: 0, entries: [], keys: new Map() }));
    const now = Date.now();
    const known = room.keys.get(key);
    if (known && now - known.at < DEDUPE_TTL_MS) return known.seq;
    room.seq += 1;
    room.entries.push({ seq: room.seq, json });
    if (room.entries.length > LOG_MAX_ENTRIES) room.entries.splice(0, room.entries.length - LOG_MAX_ENTRIES);
    room.keys.set(key, { seq: room.seq, at: now });
    if (room.keys.size > 2 * LOG_MAX_ENTRIES) for (const [k, v] of room.keys) if (now - v.at >= DEDUPE_TTL_MS) room.keys.delete(k);
    return room.seq;
  }

  async head(roomId: string): Promise<number> {
    return this.rooms.get(roomId)?.seq ?? 0;
  }

  async since(roomId: string, afterSeq: number): Promise<LogEntry[] | null> {
    const room = this.rooms.get(roomId);
    return window(room?.seq ?? 0, room?.entries ?? [], afterSeq);
  }

  async issue(hold: ResumeHold, ttlMs: number): Promise<string> {
    const token = newResumeToken();
    this.tokens.set(token, { hold, until: Date.now() + ttlMs });
    if (this.tokens.size % 1000 === 0) for (const [t, v] of this.tokens) if (v.until <= Date.now()) this.tokens.delete(t);
    return token;
  }

  async hold(token: string, ttlMs: number): Promise<void> {
    const entry = this.tokens.get(token);
    if (entry) entry.until = Date.now() + ttlMs;
  }

  async take(token: string): Promise<ResumeHold | null> {
    const entry = this.tokens.get(token);
    this.tokens.delete(token);
    return entry && entry.until > Date.now() ? entry.hold : null;
  }

  async drop(token: string): Promise<void> {
    this.tokens.delete(token);
  }

  async clearRoom(roomId: string): Promise<void> {
    this.rooms.delete(roomId);
  }
}

/** The entries after `afterSeq` of a log at `head`, or null when some are gone (or never were). */
function window(head: number, entries: LogEntry[], afterSeq: number): LogEntry[] | null {
  if (afterSeq > head) return null; // the log was lost and started again
  if (afterSeq === head) return [];
  const first = entries[0]?.seq ?? head + 1;
  if (first > afterSeq + 1) return null; // trimmed
  return entries.filter((e) => e.seq > afterSeq);
}

// KEYS: counter, log (zset seq → "seq|json"), dedupe key. ARGV: json, max entries, dedupe ttl, idle ttl.
const APPEND = `
local known = redis.call('GET', KEYS[3])
if known then return tonumber(known) end
local seq = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[3], seq, 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], seq, seq .. '|' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return seq
`;

// KEYS: counter, log. ARGV: after seq. Returns {head, entries...} read atomically.
const SINCE = `
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local out = {head}
local first = redis.call('ZRANGE', KEYS[2], 0, 0)
table.insert(out, first[1] or '')
if tonumber(ARGV[1]) < head then
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')) do table.insert(out, m) end
end
return out
`;

function decodeEntry(member: string): LogEntry {
  const bar = member.indexOf("|");
  return { seq: Number(member.slice(0, bar)), json: member.slice(bar + 1) };
}

export class RedisRoomLog implements RoomLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async append(roomId: string, key: string, json: string): Promise<number> {
    return (await this.redis.eval(APPEND, {
      keys: [this.key(`${roomId}:seq`), this.key(`${roomId}:entries`), this.key(`${roomId}:k:${key}`)],
      arguments: [json, String(LOG_MAX_ENTRIES), String(DEDUPE_TTL_MS), String(LOG_IDLE_TTL_MS)],
    })) as number;
  }

  async head(roomId: string): Promise<number> {
    return Number((await this.redis.get(this.key(`${roomId}:seq`))) ?? 0);
  }

  async since(roomId: string, afterSeq: number): Promise<LogEntry[] | null> {
    const [head, first, ...members] = (await this.redis.eval(SINCE, {
      keys: [this.key(`${roomId}:seq`), this.key(`${roomId}:entries`)],
      arguments: [String(afterSeq)],
    })) as [number, string, ...string[]];
    // The lowest kept entry tells whether anything after afterSeq was trimmed.
    if (window(Number(head), first ? [decodeEntry(first)] : [], afterSeq) === null) return null;
    return members.map(decodeEntry);
  }

  async issue(hold: ResumeHold, ttlMs: number): Promise<string> {
    const token = newResumeToken();
    await this.redis.set(this.key(`token:${token}`), JSON.stringify(hold), { PX: ttlMs });
    return token;
  }

  async hold(token: string, ttlMs: number): Promise<void> {
    await this.redis.pExpire(this.key(`token:${token}`), ttlMs);
  }

  async take(token: string): Promise<ResumeHold | null> {
    const value = await this.redis.getDel(this.key(`token:${token}`));
    return value ? (JSON.parse(value) as ResumeHold) : null;
  }

  async drop(token: string): Promise<void> {
    await this.redis.del(this.key(`token:${token}`));
  }

  async clearRoom(roomId: string): Promise<void> {
    await this.redis.del([this.key(`${roomId}:seq`), this.key(`${roomId}:entries`)]);
  }

  private key(suffix: string): string {
    return `${this.prefix}log:${suffix}`;
  }
}
