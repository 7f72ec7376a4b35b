/**
 * The Redis link's script runner: scripts run in the order they were asked for, even when Redis
 * does not know one of them yet (a fresh or restarted Redis). Each test's scripts carry a random
 * comment, so Redis has never seen them; the shared Redis's script cache is never flushed.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { expect, it, vi } from 'vitest'
import { RedisLink, script } from '../../src/server/redis-link.js'
import { afterTest } from './helpers.js'
import { describeWithRedis, REDIS_URL, redisPrefix } from './redis.js'

const fresh = (body: string) => script(`-- ${randomBytes(8).toString('hex')}\n${body}`)

function link(prefix: string, url = REDIS_URL, errors: unknown[] = []): RedisLink {
  const l = new RedisLink(url, `${prefix}channel`, { message() {}, down() {}, up() {}, error: (e) => errors.push(e) })
  afterTest(async () => {
    await l.close()
    expect(errors).toEqual([])
  })
  return l
}

/** A restart needs a Redis of the test's own; without the binary that test is skipped (not in CI). */
const HAS_BINARY = spawnSync('redis-server', ['--version']).status === 0
if (!HAS_BINARY && process.env.CI !== 'true') console.warn('!! redis-server is not installed: the Redis restart test is SKIPPED')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** A Redis of this test's own (so it can be restarted), on a free port; stopped after the test. */
async function privateRedis() {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    child = c
    const probe = () =>
      new Promise<boolean>((resolve) => {
        execFile('redis-cli', ['-p', String(port), 'ping'], (_error, stdout) => resolve(stdout.trim() === 'PONG'))
      })
    for (let i = 0; !(await probe()); i++) {
      if (i === 100 || c.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    await new Promise((resolve) => {
      c.once('exit', resolve)
      c.kill('SIGKILL')
    })
  }
  afterTest(stop)
  await start()
  return { url: `redis://127.0.0.1:${port}`, restart: async () => (await stop(), await start()) }
}

describeWithRedis('redis link', () => {
  it('runs a script Redis does not know yet before a known one asked for after it', async () => {
    const prefix = redisPrefix()
    const l = link(prefix)
    await l.ready
    const write = fresh("redis.call('SET', KEYS[1], ARGV[1]) return 1")
    const read = fresh("return redis.call('GET', KEYS[1])")
    const key = `${prefix}k`
    expect(await l.run(read, [key], [])).toBeNull() // `read` is now known to Redis, `write` is not
    const [wrote, got] = await Promise.all([l.run(write, [key], ['v1']), l.run(read, [key], [])])
    expect(wrote).toBe(1)
    expect(got).toBe('v1')
  })

  it('still runs a script Redis has forgotten under a live connection (NOSCRIPT)', async () => {
    const prefix = redisPrefix()
    const l = link(prefix)
    await l.ready
    const count = fresh("return redis.call('INCR', KEYS[1])")
    const key = `${prefix}n`
    expect(await l.run(count, [key], [])).toBe(1)
    // As after SCRIPT FLUSH, for this one script only: Redis no longer has it under that SHA1.
    const forgotten = { source: count.source, sha: '0'.repeat(40) }
    expect(await l.run(forgotten, [key], [])).toBe(2)
  })

  it.skipIf(!HAS_BINARY && process.env.CI !== 'true')('keeps that order after Redis restarts and forgets every script', async () => {
    expect(HAS_BINARY, 'CI=true requires redis-server, to restart a Redis of the test\'s own').toBe(true)
    const redis = await privateRedis()
    const errors: unknown[] = []
    const l = link('restart:', redis.url, errors)
    await l.ready
    const write = fresh("redis.call('SET', KEYS[1], ARGV[1]) return 1")
    const read = fresh("return redis.call('GET', KEYS[1])")
    expect(await l.run(write, ['k'], ['v1'])).toBe(1)
    expect(await l.run(read, ['k'], [])).toBe('v1')
    await redis.restart()
    // (both connections have noticed the outage, reported once each, and the commands one is back)
    await vi.waitFor(() => expect([errors.length, l.up]).toEqual([2, true]), { timeout: 5000, interval: 20 })
    expect(await l.run(read, ['k'], [])).toBeNull() // a new Redis: no data; `read` is loaded again
    const [wrote, got] = await Promise.all([l.run(write, ['k'], ['v2']), l.run(read, ['k'], [])])
    expect([wrote, got]).toEqual([1, 'v2'])
    expect(errors.length).toBe(2)
    errors.length = 0
  })
})
