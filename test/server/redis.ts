/**
 * Redis for the tests of the Redis store: the server at WIREFEED_REDIS_URL, or
 * redis://127.0.0.1:6379. Unreachable, the suites declared with `describeWithRedis` are skipped
 * with a loud warning, except under CI=true, where the missing server is a failing test.
 *
 * Each test takes keys under a prefix of its own (`redisPrefix()`), deleted after it, so test
 * files running side by side on one Redis never see each other's sessions.
 */
import { randomBytes } from 'node:crypto'
import { createClient } from 'redis'
import { describe, it } from 'vitest'
import { redisStore } from '../../src/server/index.js'
import { afterTest } from './helpers.js'

export const REDIS_URL = process.env.WIREFEED_REDIS_URL || 'redis://127.0.0.1:6379'
const IN_CI = process.env.CI === 'true'
const MISSING = `Redis not reachable at ${REDIS_URL}: Redis store tests SKIPPED; install Debian's redis-server (apt-get install redis-server) or set WIREFEED_REDIS_URL`

/** A client for the tests' own look at Redis; close it when done. */
export async function redisClient(url = REDIS_URL) {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 2000 } })
  client.on('error', () => {})
  await client.connect()
  return client
}

async function reachable(): Promise<boolean> {
  try {
    const client = await redisClient()
    await client.ping()
    await client.close()
    return true
  } catch {
    return false
  }
}

export const HAS_REDIS = await reachable()

if (!HAS_REDIS && !IN_CI) {
  const bar = '!'.repeat(100)
  console.warn(`\n${bar}\n!!  ${MISSING}\n${bar}\n`)
}

/**
 * A describe block that needs Redis: skipped (with the warning above) when it is unreachable, and
 * replaced by one failing test when it is unreachable under CI=true.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (!HAS_REDIS && IN_CI) {
    describe(name, () => {
      it('has a Redis server to run against (CI=true)', () => {
        throw new Error(MISSING.replace('Redis store tests SKIPPED', 'CI=true requires the Redis store tests'))
      })
    })
  }
  describe.skipIf(!HAS_REDIS)(name, body)
}

/** Delete every key under `prefix`. */
export async function deleteKeys(prefix: string): Promise<void> {
  const client = await redisClient()
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys)
    }
  } finally {
    await client.close()
  }
}

/**
 * A key prefix for this test only; its keys are deleted after the test, once the servers started
 * after this call are closed.
 */
export function redisPrefix(): string {
  const prefix = `wirefeed-test:${randomBytes(6).toString('hex')}:`
  afterTest(() => deleteKeys(prefix))
  return prefix
}

/** Options of a server on a Redis store under `prefix` (a fresh one by default). */
export const onRedis = (prefix = redisPrefix(), url = REDIS_URL) => ({ store: redisStore({ url, prefix }) })
