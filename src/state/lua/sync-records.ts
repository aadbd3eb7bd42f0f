/** Lua for the Redis sync records (src/state/sync-records/redis-sync-records.ts). */

/** The room's correction count shares the sync hash, under a field no user id can take. */
export const SYNC_CORRECTIONS_FIELD = "#corrections";

/**
 * Replaces a user's latest sync report, counts a correction when asked, and pushes the room's
 * expiry to `ttl` after this report. Returns 1.
 * KEYS: [1] the room's sync hash.
 * ARGV: [1] user id, [2] record JSON, [3] '1' to count a correction, [4] ttl ms.
 */
export const RECORD_SYNC = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], '${SYNC_CORRECTIONS_FIELD}', 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;
