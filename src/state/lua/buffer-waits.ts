/** Lua for the Redis buffering waits (src/state/buffer-waits/redis-buffer-waits.ts). */

/**
 * Ends a room's wait if it was paused at a version below ARGV[1]; returns the wait's JSON, or
 * false. One script, so that of the instances ending the same wait one gets it.
 * KEYS: [1] the room's wait (JSON). ARGV: [1] the playback version now.
 */
export const END_WAIT = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local wait = cjson.decode(raw)
if tonumber(wait.version) >= tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return raw
`;
