/**
 * Lua for the Redis presence (src/state/presence/redis-presence.ts). A connection is the member
 * "room|user|connection" of its instance's connection set; the room's `users` hash counts each
 * user's connections. Key names: src/state/redis-keys.ts.
 */

/**
 * Registers a connection; returns the user's connection count in the room (1: their first).
 * Idempotent per connection (a restore may have registered it already): a known member returns
 * the current count without counting it again.
 * KEYS: [1] room users hash, [2] room host, [3] this instance's connections, [4] instances set,
 *       [5] room since hash (when each user's first connection arrived, for host succession).
 * ARGV: [1] user id, [2] host id, [3] member, [4] instance id, [5] now (epoch ms).
 */
export const CONNECT = `
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or 1) end
redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[5])
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
`;

/**
 * Re-registers one local connection if Redis lost it; returns 1 when it was missing, else 0.
 * KEYS and ARGV: as CONNECT.
 */
export const RESTORE = `
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[5])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
`;

/**
 * Removes a connection; returns -1 when it is unknown (already reaped or removed), else the
 * user's remaining count (0: their last; the user then leaves `users` and `since`).
 * KEYS: [1] room users hash, [2] this instance's connections, [3] room since hash.
 * ARGV: [1] user id, [2] member.
 */
export const DISCONNECT = `
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return -1 end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[3], ARGV[1]); return 0 end
return n
`;

/**
 * Pops one connection of a dead instance and decrements its user (SPOP: each one exactly once,
 * whichever peer reaps); returns {member, remaining}, or nil once the set is empty (the instance
 * then leaves the instances set). The room keys are built from the prefix, as RealtimeKeys does.
 * KEYS: [1] the dead instance's connections, [2] instances set.
 * ARGV: [1] key prefix, [2] the dead instance's id.
 */
export const REAP_ONE = `
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

/**
 * Presence of many rooms in one round trip: a flat list, two entries per room in ARGV order,
 * the number of distinct users online and 1/0 for whether the host is among them. The room keys
 * are built from the prefix, as RealtimeKeys does.
 * KEYS: none. ARGV: [1] key prefix, [2..] room ids.
 */
export const ROOM_PRESENCE = `
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
