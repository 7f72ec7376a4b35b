/**
 * What a Redis store keeps in Redis, and the Lua scripts that change it. A script runs whole,
 * with nothing else in between, so each step below is atomic across instances.
 *
 * Keys, under the store's prefix:
 * - `s:<id>`, a hash per session: `seq` (the last seq issued), `pat` (its patterns, JSON), `pr`
 *   (its principal, JSON; absent for none), `v` (a version, one more at each change of `pat` or
 *   `pr`), `d` (when it expires, ms since the epoch), `g` (the generation it was born in);
 * - `e:<id>`, a stream per session: its replay buffer, one entry per issued event with the seq as
 *   its ID (`<seq>-0`) and fields `e` (event), `d` (data, JSON), `t` (ts), `a` (`1` if acked),
 *   trimmed to exactly `replayBuffer` entries;
 * - `sessions`, a sorted set of session ids by expiry: how many are live (`maxSessions`), and which
 *   to clean up;
 * - `gen`, the generation, one more at each `forgetSessions()`.
 * Both keys of a session expire at `d`: on their own, without a sweep. While a transport is
 * attached, its instance pushes `d` forward; after that, the last activity plus `sessionTtl`.
 *
 * The channel `bus` carries what every instance must hear, in the order the scripts ran (the
 * formats are in redis-bus.ts): an event and the seq it got in each session (`E`), a session's new
 * state (`S`), sessions removed (`X`), every session forgotten (`C`).
 */
import { script } from './redis-link.js'

export interface Keys {
  session(id: string): string
  stream(id: string): string
  sessions: string
  gen: string
  channel: string
  prefix: string
}

export const keysOf = (prefix: string): Keys => ({
  session: (id) => `${prefix}s:${id}`,
  stream: (id) => `${prefix}e:${id}`,
  sessions: `${prefix}sessions`,
  gen: `${prefix}gen`,
  channel: `${prefix}bus`,
  prefix,
})

/** The `S` message of a session, built in Lua from its id, version, seq, generation, patterns and principal. */
const STATE = `'S\\n' .. id .. '\\n' .. v .. '\\n' .. seq .. '\\n' .. g .. '\\n' .. pat .. '\\n' .. pr`

/**
 * Whether a stream reply covers `after`: its first entry is `after + 1`, and not older than
 * `maxAge` (the entries after it are newer). Defines `covers(got, after, now, maxAge)`.
 */
const COVERS = `
local function covers(got, after, now, maxAge)
  local first = got[1]
  return first ~= nil and first[1] == (after + 1) .. '-0' and now - tonumber(first[2][6]) <= maxAge
end`

/**
 * A new session. KEYS: sessions, s:<id>, gen. ARGV: id, now, ttl, maxSessions, principal JSON ('' for
 * none), channel. Returns its generation, or nil when `maxSessions` are live.
 */
export const CREATE = script(`
local id, now, pr = ARGV[1], tonumber(ARGV[2]), ARGV[5]
if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf') >= tonumber(ARGV[4]) then return nil end
local d = now + tonumber(ARGV[3])
local g = redis.call('GET', KEYS[3]) or '0'
local v, seq, pat = 1, 0, '[]'
redis.call('HSET', KEYS[2], 'seq', seq, 'pat', pat, 'v', v, 'd', d, 'g', g)
if pr ~= '' then redis.call('HSET', KEYS[2], 'pr', pr) end
redis.call('PEXPIREAT', KEYS[2], d)
redis.call('ZADD', KEYS[1], d, id)
redis.call('PUBLISH', ARGV[6], ${STATE})
return g`)

/**
 * Resume a session: set its principal, push its expiry forward, and read what followed `after`.
 * KEYS: s:<id>, e:<id>, sessions. ARGV: id, after, now, ttl, maxAge, principal JSON, channel.
 * Returns {0} (unknown or expired), {1} (`after` past its head), or {status, head, v, g, pat, pr,
 * entries} with status 2 (the entries after `after`) or 3 (the buffer no longer covers `after`).
 */
export const RESUME = script(`${COVERS}
local id, h = ARGV[1], KEYS[1]
local head = redis.call('HGET', h, 'seq')
if not head then return {0} end
head = tonumber(head)
local after, now = tonumber(ARGV[2]), tonumber(ARGV[3])
if after > head then return {1} end
local f = redis.call('HMGET', h, 'v', 'g', 'pat', 'pr')
local v, g, pat, pr, seq = tonumber(f[1]), f[2] or '0', f[3], f[4] or '', head
if pr ~= ARGV[6] then
  pr = ARGV[6]
  if pr == '' then redis.call('HDEL', h, 'pr') else redis.call('HSET', h, 'pr', pr) end
  v = redis.call('HINCRBY', h, 'v', 1)
  redis.call('PUBLISH', ARGV[7], ${STATE})
end
local d = now + tonumber(ARGV[4])
redis.call('HSET', h, 'd', d)
redis.call('PEXPIREAT', h, d)
redis.call('PEXPIREAT', KEYS[2], d)
redis.call('ZADD', KEYS[3], d, id)
local got = {}
if after < head then
  got = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+')
  if not covers(got, after, now, tonumber(ARGV[5])) then return {3, head, v, g, pat, pr} end
end
return {2, head, v, g, pat, pr, got}`)

/**
 * What followed `after` in a session. KEYS: s:<id>, e:<id>. ARGV: after, now, maxAge.
 * Returns {0} (unknown or expired), {2, head, entries}, or {3, head} (not covered).
 */
export const READ = script(`${COVERS}
local head = redis.call('HGET', KEYS[1], 'seq')
if not head then return {0} end
head = tonumber(head)
local after, now = tonumber(ARGV[1]), tonumber(ARGV[2])
if after >= head then return {2, head, {}} end
local got = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+')
if not covers(got, after, now, tonumber(ARGV[3])) then return {3, head} end
return {2, head, got}`)

/**
 * Issue seqs: for each event, one seq in each of its sessions still live, appended to that
 * session's stream, then one `E` message naming them. KEYS: s:<id>, e:<id> for each session in
 * order. ARGV: channel, replayBuffer, number of events, then per event: name, ts, ack (0/1), data
 * JSON, number of sessions, their ids. Returns the ids of sessions that no longer exist.
 */
export const ISSUE = script(`
local channel, maxlen = ARGV[1], ARGV[2]
local a, k = 4, 1
local gone = {}
for _ = 1, tonumber(ARGV[3]) do
  local event, ts, ack, json, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  a = a + 5
  local to = {}
  for _ = 1, n do
    local id, h, e = ARGV[a], KEYS[k], KEYS[k + 1]
    a, k = a + 1, k + 2
    local d = redis.call('HGET', h, 'd')
    if d then
      local seq = redis.call('HINCRBY', h, 'seq', 1)
      if ack == '1' then
        redis.call('XADD', e, 'MAXLEN', maxlen, seq .. '-0', 'e', event, 'd', json, 't', ts, 'a', '1')
      else
        redis.call('XADD', e, 'MAXLEN', maxlen, seq .. '-0', 'e', event, 'd', json, 't', ts)
      end
      redis.call('PEXPIREAT', e, d)
      to[#to + 1] = id .. ' ' .. seq
    else
      gone[#gone + 1] = id
    end
  end
  if #to > 0 then
    redis.call('PUBLISH', channel, 'E\\n' .. ts .. '\\n' .. ack .. '\\n' .. event .. '\\n' .. table.concat(to, ' ') .. '\\n' .. json)
  end
end
return gone`)

/**
 * Push sessions' expiry to now + ttl. KEYS: sessions, then s:<id>, e:<id> per session. ARGV: now,
 * ttl, the ids. Returns the ids of sessions that no longer exist.
 */
export const TOUCH = script(`
local d = tonumber(ARGV[1]) + tonumber(ARGV[2])
local gone = {}
for i = 3, #ARGV do
  local h, e = KEYS[2 * (i - 2)], KEYS[2 * (i - 2) + 1]
  if redis.call('EXISTS', h) == 1 then
    redis.call('HSET', h, 'd', d)
    redis.call('PEXPIREAT', h, d)
    redis.call('PEXPIREAT', e, d)
    redis.call('ZADD', KEYS[1], d, ARGV[i])
  else
    gone[#gone + 1] = ARGV[i]
  end
end
return gone`)

/**
 * Save a session's patterns (`pat`) or principal (`pr`, '' for none) and announce its new state.
 * KEYS: s:<id>. ARGV: id, field, value, channel. Returns the new version, or nil if it is gone.
 */
export const SAVE = script(`
local id, h = ARGV[1], KEYS[1]
if redis.call('EXISTS', h) == 0 then return nil end
if ARGV[2] == 'pr' and ARGV[3] == '' then redis.call('HDEL', h, 'pr') else redis.call('HSET', h, ARGV[2], ARGV[3]) end
local v = redis.call('HINCRBY', h, 'v', 1)
local f = redis.call('HMGET', h, 'seq', 'g', 'pat', 'pr')
local seq, g, pat, pr = f[1], f[2] or '0', f[3], f[4] or ''
redis.call('PUBLISH', ARGV[4], ${STATE})
return v`)

/**
 * Remove sessions that expired (their keys are gone already) from the index, at most `limit`, and
 * announce them. KEYS: sessions. ARGV: now, limit, key prefix, channel. Returns how many.
 */
export const SWEEP = script(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local gone = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[3] .. 's:' .. id) == 0 then
    redis.call('ZREM', KEYS[1], id)
    redis.call('DEL', ARGV[3] .. 'e:' .. id)
    gone[#gone + 1] = id
  end
end
if #gone > 0 then redis.call('PUBLISH', ARGV[4], 'X\\n' .. table.concat(gone, ' ')) end
return #gone`)

/**
 * Forget every session and start a new generation. KEYS: sessions, gen. ARGV: key prefix, channel.
 * Returns the new generation.
 */
export const CLEAR = script(`
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  redis.call('DEL', ARGV[1] .. 's:' .. id, ARGV[1] .. 'e:' .. id)
end
redis.call('DEL', KEYS[1])
local g = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], 'C\\n' .. g)
return g`)

/**
 * The state of the live sessions, for an instance that (re)starts listening. KEYS: sessions.
 * ARGV: now, key prefix. Returns id, v, seq, g, pat, pr for each, flat.
 */
export const LOAD = script(`
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')) do
  local f = redis.call('HMGET', ARGV[2] .. 's:' .. id, 'v', 'seq', 'g', 'pat', 'pr')
  if f[1] then
    out[#out + 1] = id
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
    out[#out + 1] = f[3] or '0'
    out[#out + 1] = f[4]
    out[#out + 1] = f[5] or ''
  end
end
return out`)
