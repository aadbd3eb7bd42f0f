/** Lua for the Redis mutes (src/state/mutes/redis-mutes.ts), shared with the chat gate's check. */

/**
 * A Lua function fragment, `muted()`: true while a mute is in force; an expired entry is removed.
 * Prepended to the scripts that need it, which must then take:
 * KEYS: [1] the room's mutes hash (user → until epoch ms, '0' = until lifted).
 * ARGV: [1] user id, [2] now (epoch ms).
 */
export const MUTED_FUNCTION = `
local function muted()
  local untilMs = redis.call('HGET', KEYS[1], ARGV[1])
  if not untilMs then return false end
  if untilMs == '0' or tonumber(untilMs) > tonumber(ARGV[2]) then return true end
  redis.call('HDEL', KEYS[1], ARGV[1])
  return false
end
`;

/**
 * Whether a user is muted now: 1 or 0 (an expired mute is removed on the way).
 * KEYS and ARGV: as MUTED_FUNCTION.
 */
export const IS_MUTED = `${MUTED_FUNCTION}
if muted() then return 1 end
return 0
`;
