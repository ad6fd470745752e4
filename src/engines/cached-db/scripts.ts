/**
 * The cached_db engine's one write to Redis: a fill (after a read from
 * PostgreSQL) and a write-through (after a commit) are the same script on
 * one key, `sessionql:c:{<sha256>}` (its own cluster slot). An entry is a hash:
 *   d v e b m f   the stored session, as the `cache` engine keeps it
 *                 (data JSON, version, expiresAt, browserClose, maxAge or '', fixedExpiry)
 *   g             the cache generation the writer knew before its PostgreSQL statement
 * or a tombstone {x = 1, g}: the session was flushed or moved. A session's
 * hash never lives again once gone, so a tombstone is true for ever and
 * nothing replaces it (its TTL frees it).
 *
 * A live entry is replaced only by a newer state: a higher (version,
 * expiresAt), lexicographically, or the same state of a newer generation.
 * So a reader that read version 5 from PostgreSQL cannot overwrite version
 * 6 written through by a writer, nor bring back a flushed session. The
 * entry written keeps the higher of the two generations: a state newer
 * than an entry of generation n is at least as new as every write that
 * raised the generation to n (docs/decisions/0015).
 *
 * KEYS[1]: the entry. ARGV: g, ttl (ms), 'dead' | 'live', then for 'live'
 * d, v, e, b, m, f. Reply: {'ok' | 'kept' | 'dead', the entry's generation}.
 */
export const putScript = `
local g, gs = tonumber(ARGV[1]), ARGV[1]
local h = redis.call('HMGET', KEYS[1], 'g', 'x', 'v', 'e')
if h[2] then return {'dead', h[1]} end
local was = tonumber(h[1]) or -1
if ARGV[3] == 'live' and h[3] then
  local v, e, nv, ne = tonumber(h[3]), tonumber(h[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
  if nv < v or (nv == v and (ne < e or (ne == e and g <= was))) then return {'kept', h[1]} end
end
if was > g then gs = h[1] end
if ARGV[3] == 'dead' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'x', '1', 'g', gs)
else
  redis.call('HSET', KEYS[1], 'd', ARGV[4], 'v', ARGV[5], 'e', ARGV[6], 'b', ARGV[7], 'm', ARGV[8], 'f', ARGV[9], 'g', gs)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'ok', gs}`;
