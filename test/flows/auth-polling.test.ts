/**
 * The `auth` option while polling: every poll GET and POST carries the token in an
 * `Authorization: Bearer` header (never in the URL), a refused poll (401) makes the next request
 * ask `getToken` for a fresh token, and a failed `getToken` is one `auth` error, not a `transport`
 * error as well, with the poll tried again on the backoff schedule.
 */
import { describe, expect, it, vi } from 'vitest'
import { FAST, POLL_URL, record, setupFlows } from './harness.js'

const { fake, server, client } = setupFlows()

const POLLING = { interval: 50, upgradeInterval: 60_000 }

/** The URL of every request msw sees during the test. */
function requestUrls(): string[] {
  const urls: string[] = []
  const listener = ({ request }: { request: Request }): void => void urls.push(request.url)
  server.events.on('request:start', listener)
  return urls
}

describe('auth while polling', () => {
  it('sends the token as a Bearer header on every GET and POST, never in a URL; a 401 gets a fresh token', async () => {
    fake.refuseWebSocket(true)
    const urls = requestUrls()
    let n = 0
    const getToken = vi.fn(async () => ({ token: `poll-${++n}`, expiresAt: Date.now() + 3_600_000 }))
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: POLLING, auth: { getToken } })
    const r = record(c)
    await expect.poll(() => c.stats.transport).toBe('polling')
    fake.publish('job', 1, { ack: true })
    await expect.poll(() => fake.posts.length).toBe(1)
    // one token for the refused sockets and every request since
    expect(getToken).toHaveBeenCalledTimes(1)
    expect(fake.tokens.length).toBe(fake.polls.length + fake.posts.length)
    expect(new Set(fake.tokens)).toEqual(new Set(['poll-1']))

    fake.failPolls(401)
    const refusedAt = fake.polls.length + 1
    const refusedToken = fake.tokens.length // where the refused GET's token lands in `tokens`
    await expect.poll(() => fake.polls.length).toBeGreaterThan(refusedAt + 1)
    expect(getToken).toHaveBeenCalledTimes(2)
    // the refused GET carried the old token; every request after it the fresh one
    const fresh = fake.tokens.indexOf('poll-2')
    expect(fresh).toBe(refusedToken + 1)
    expect(new Set(fake.tokens.slice(0, fresh))).toEqual(new Set(['poll-1']))
    expect(new Set(fake.tokens.slice(fresh))).toEqual(new Set(['poll-2']))
    expect(urls.length).toBeGreaterThan(0)
    expect(urls.filter((u) => u.includes('poll-'))).toEqual([])
    expect(r.errors).toEqual([])
    expect(c.status).toBe('polling')
  })

  it('a getToken that fails while polling is one auth error per failure, and the poll is retried with backoff', async () => {
    fake.refuseWebSocket(true)
    let n = 0
    let failNext = 0
    const getToken = vi.fn(async () => {
      if (failNext > 0) {
        failNext--
        throw new Error('identity provider down')
      }
      return { token: `poll-${++n}`, expiresAt: Date.now() + 3_600_000 }
    })
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: POLLING, auth: { getToken } })
    const r = record(c)
    await expect.poll(() => c.stats.transport).toBe('polling')
    failNext = 2
    fake.failPolls(401) // the token is refused: the next requests need a fresh one
    await expect.poll(() => getToken.mock.calls.length).toBe(4)
    fake.publish('tick', 1)
    await expect.poll(() => r.events.length).toBe(1)
    expect(r.errors.map((e) => [e.code, e.message, (e.cause as Error).message])).toEqual([
      ['auth', 'auth.getToken failed', 'identity provider down'],
      ['auth', 'auth.getToken failed', 'identity provider down'],
    ])
    expect(fake.tokens.at(-1)).toBe('poll-2')
    expect(c.status).toBe('polling')
  })
})
