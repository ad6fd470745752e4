/**
 * The `cache` engine's writes: one Lua script each, on one key (one cluster
 * slot), so every write is atomic on the server. A session is a hash:
 *   d  data (JSON text)         v  version (writes count)
 *   e  expiresAt (seconds)      b  browserClose (1/0)
 *   m  maxAge (seconds, or '')  f  fixedExpiry (1/0)
 * The key's TTL follows `e`, relative to the caller's clock (`now`, ms), plus a
 * minute, so an injected clock never sees a key vanish early; every script and
 * every read compares `e` with `now` itself (an expired session is never read
 * nor written).
 * Replies: the stored fields {d, v, e, b, m, f}, or nil (gone, expired,
 * version conflict), 'big' (size limit, nothing written), or 'late' (past the
 * caller's real-time deadline by the server's clock, nothing written); a
 * swap at another version gets {'stale', d, v, e, b, m, f}, the session as
 * it is, so the retry needs no read.
 *
 * A committed change is told to subscribers (sessionChanged) from within the
 * script: SPUBLISH on `sessionql:n:{hash}`, the key's own slot (sharded
 * pub/sub on a cluster, plain on a single server), payload `hash:version`,
 * `hash:flushed` or `hash:moved`. Nothing is sent when nobody listens.
 */

/** Reads the live session of KEYS[1] at `now` (ms), else nil; past `deadline` (ms, the server's clock) nil too. */
const prelude = `
local function late(deadline)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > deadline
end
local function alive(now)
  local h = redis.call('HMGET', KEYS[1], 'd', 'v', 'e', 'b', 'm', 'f')
  if not h[1] or not h[3] then return nil end
  if tonumber(h[3]) * 1000 <= now then return nil end
  return h
end
local function renewed(h, now, age)
  if h[6] == '1' then return h[3] end
  local a = age
  if h[5] and h[5] ~= '' then a = tonumber(h[5]) end
  return string.format('%d', math.ceil(now / 1000) + a)
end
local function notify(tail)
  local hash = string.match(KEYS[1], '{(.*)}')
  redis.call('SPUBLISH', 'sessionql:n:{' .. hash .. '}', hash .. ':' .. tail)
end
local function expire(e, now)
  -- The deadline itself is enforced by alive() and by every read, against the
  -- caller's clock; the TTL only frees the memory, a minute later, so a key
  -- is never gone while that clock (an injected one, say) still calls it live.
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.floor(tonumber(e) * 1000 - now)) + 60000)
end
`;

/** ARGV: now, age, deadline. Renews the deadline; the version is unchanged (no data written). */
export const touchScript = `${prelude}
local now, age, deadline = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if late(deadline) then return 'late' end
local h = alive(now)
if not h then return nil end
h[3] = renewed(h, now, age)
redis.call('HSET', KEYS[1], 'e', h[3])
expire(h[3], now)
return h`;

/**
 * ARGV: now, age, deadline, max, version, data, step. Compare-and-set of the
 * data; the version grows by `step` (random, from 1 to 2^20), so that two
 * histories of a session never reach the same version (a failover that lost
 * acknowledged writes, then other writes: a writer starting from a version it
 * remembers must not mistake one for the other).
 */
export const swapScript = `${prelude}
local now, age, deadline, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if #ARGV[6] > max then return 'big' end
if late(deadline) then return 'late' end
local h = alive(now)
if not h then return nil end
if h[2] ~= ARGV[5] then return {'stale', h[1], h[2], h[3], h[4], h[5], h[6]} end
h[1] = ARGV[6]
h[2] = string.format('%d', tonumber(h[2]) + tonumber(ARGV[7]))
h[3] = renewed(h, now, age)
redis.call('HSET', KEYS[1], 'd', h[1], 'v', h[2], 'e', h[3])
expire(h[3], now)
notify(h[2])
return h`;

/** ARGV: now, deadline, max, data, version, e, b, m, f. A new key only (NX); 'taken' if it exists. */
export const createScript = `${prelude}
local now, deadline, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if #ARGV[4] > max then return 'big' end
if late(deadline) then return 'late' end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'taken' end
redis.call('HSET', KEYS[1], 'd', ARGV[4], 'v', ARGV[5], 'e', ARGV[6], 'b', ARGV[7], 'm', ARGV[8], 'f', ARGV[9])
expire(ARGV[6], now)
return {ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]}`;

/** ARGV: now, deadline, e, b, m, f, step. New expiry columns; the version grows by step (as the swap's). */
export const setExpiryScript = `${prelude}
local now, deadline = tonumber(ARGV[1]), tonumber(ARGV[2])
if late(deadline) then return 'late' end
local h = alive(now)
if not h then return nil end
h[2] = string.format('%d', tonumber(h[2]) + tonumber(ARGV[7]))
h[3], h[4], h[5], h[6] = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
redis.call('HSET', KEYS[1], 'v', h[2], 'e', h[3], 'b', h[4], 'm', h[5], 'f', h[6])
expire(h[3], now)
notify(h[2])
return h`;

/** ARGV: now, deadline, version. Deletes the key if it is alive at `version` (the old key of a cycle): 1, else 0. */
export const retireScript = `${prelude}
local now, deadline = tonumber(ARGV[1]), tonumber(ARGV[2])
if late(deadline) then return 'late' end
local h = alive(now)
if not h or h[2] ~= ARGV[3] then return 0 end
redis.call('DEL', KEYS[1])
notify('moved')
return 1`;

/** ARGV: deadline. Deletes the key (flush). */
export const flushScript = `${prelude}
if late(tonumber(ARGV[1])) then return 'late' end
local n = redis.call('DEL', KEYS[1])
if n == 1 then notify('flushed') end
return n`;

/**
 * Start-up: every command the scripts run, with nothing left changed, so a
 * user whose ACL forbids one is found before a request is. On KEYS[1], a
 * key of the prefix no session has (a script's declared keys need read and
 * write rights, so read-only keys are refused too): written, then deleted,
 * in one atomic script. ARGV[1] 'cache': only what cached_db's cache script
 * runs; else also TIME, EXISTS and an empty message on the notices'
 * channel ARGV[1] names (a channel no session has).
 */
export const permissionScript = `
redis.call('HMGET', KEYS[1], 'd')
redis.call('HSET', KEYS[1], 'd', '')
redis.call('PEXPIRE', KEYS[1], 60000)
redis.call('DEL', KEYS[1])
if ARGV[1] ~= 'cache' then
  redis.call('TIME')
  redis.call('EXISTS', KEYS[1])
  redis.call('SPUBLISH', ARGV[1], '')
end
return 1`;
