/** Lua for the Redis chat gate (src/state/chat-gate/redis-chat-gate.ts). */
import { MUTED_FUNCTION } from "./mutes.js";

/**
 * Every chat gate in one atomic step, in order: mute, slow mode, cooldown, the sliding window
 * (a burst past the limit starts a cooldown and clears the window), the duplicate window; an
 * accepted message is remembered (last text, slow-mode marker). Returns the ChatVerdict.
 * KEYS: [1] the room's mutes hash, [2] the user's window zset, [3] cooldown flag, [4] last text,
 *       [5] slow-mode marker.
 * ARGV: [1] user id, [2] now (epoch ms), [3] window ms, [4] limit, [5] cooldown ms,
 *       [6] a unique window member, [7] text, [8] duplicate window ms, [9] slow mode ms (0 = off).
 */
export const CHECK_CHAT = `${MUTED_FUNCTION}
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

/**
 * Takes back what an accepted CHECK_CHAT counted: the newest window entry, the last text when it
 * is still this one, the slow-mode marker. Returns 1.
 * KEYS: [1] the user's window zset, [2] last text, [3] slow-mode marker (as CHECK_CHAT).
 * ARGV: [1] the text.
 */
export const REFUND_CHAT = `
redis.call('ZPOPMAX', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('DEL', KEYS[3])
return 1
`;
