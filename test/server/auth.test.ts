/**
 * Credentials on the reference server: the token of a poll's `Authorization: Bearer` header
 * reaches `authenticate`, the `refuseAuth` test hook refuses renewals, and, end to end, the real
 * client's `auth` option renews its token over one socket and comes back with a fresh token after
 * a refused renewal, losing and repeating no event.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { RealtimeClient, type Status } from '../../src/index.js'
import { Peer, poll, startServer, until } from './helpers.js'

type User = { user: string; expires?: number }

describe('authenticate and the Bearer header of polls', () => {
  it('hands the Bearer token of a poll GET and POST to authenticate, and undefined without a well-formed one', async () => {
    const seen: (string | undefined)[] = []
    const rt = await startServer<User>({ authenticate: (_req, token) => (seen.push(token), token === 'good' ? { user: 'u' } : false) })
    const get = (authorization?: string) =>
      fetch(`${rt.pollUrl}?events=`, { headers: authorization === undefined ? {} : { authorization } }).then(async (res) => ({ status: res.status, body: await res.text() }))
    expect((await get('Bearer good')).status).toBe(200)
    expect((await get('bearer  good')).status).toBe(200)
    expect((await get('Bearer bad')).status).toBe(401)
    expect((await get('Basic Z29vZA==')).status).toBe(401)
    expect((await get()).status).toBe(401)
    const session = JSON.parse((await get('Bearer good')).body).session as string
    const posted = await fetch(rt.pollUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer good' },
      body: JSON.stringify({ session, messages: [{ type: 'ack', seq: 1 }] }),
    })
    expect(posted.status).toBe(204)
    expect(seen).toEqual(['good', 'good', 'bad', undefined, undefined, 'good', 'good'])
    // a poll without the header still goes through authenticate as before (token from the request)
    expect((await poll(rt)).status).toBe(401)
  })
})

describe('the refuseAuth test hook', () => {
  it('closes the next `auth` with 4001 whatever authenticate says, and only that one; hello is not affected', async () => {
    const rt = await startServer<User>({ authenticate: (_req, token) => (token?.startsWith('good') ? { user: token } : false) })
    rt.refuseAuth()
    const { peer } = await Peer.connect(rt.url, { token: 'good-hello' })
    peer.send({ type: 'auth', token: 'good-1' })
    expect((await peer.closed).code).toBe(4001)
    expect(rt.stats().unauthorized).toBe(1)

    const { peer: next } = await Peer.connect(rt.url, { token: 'good-hello' })
    next.send({ type: 'auth', token: 'good-2' })
    expect(await next.take('auth_ok')).toEqual({ type: 'auth_ok' })

    rt.refuseAuth(2)
    next.send({ type: 'auth', token: 'good-3' })
    expect((await next.closed).code).toBe(4001)
    const { peer: third } = await Peer.connect(rt.url, { token: 'good-hello' })
    third.send({ type: 'auth', token: 'good-4' })
    expect((await third.closed).code).toBe(4001)
    expect(rt.stats().unauthorized).toBe(3)
  })
})

describe('the client\'s auth option against the reference server', () => {
  const clients: RealtimeClient[] = []
  afterEach(() => {
    for (const c of clients.splice(0)) c.close()
  })

  it('renews its token over one socket before the server would close it, and after a refused renewal reconnects with a fresh token, missing nothing', async () => {
    const valid = new Map<string, number>() // token → expiry the server enforces
    const seen: string[] = []
    const rt = await startServer<User>({
      heartbeat: 100, // the server checks expiries on its heartbeat tick
      authenticate: (_req, token) => {
        const expires = token === undefined ? undefined : valid.get(token)
        if (token === undefined || expires === undefined || expires <= Date.now()) return false
        seen.push(token)
        return { user: 'u', expires }
      },
    })
    let n = 0
    const getToken = async () => {
      const token = `t-${++n}`
      const expiresAt = Date.now() + 2000
      valid.set(token, expiresAt)
      return { token, expiresAt }
    }
    // renewed at max(2000 - 1500, 2000 / 2, 1000) = 1000 ms into each token's life
    const c = new RealtimeClient({ url: rt.url, WebSocket: globalThis.WebSocket, dedupe: false, reconnect: { minDelay: 10, maxDelay: 50, jitter: 0 }, auth: { getToken, refreshBefore: 1500 } })
    clients.push(c)
    const statuses: Status[] = [c.status]
    const got: number[] = []
    const errors: Error[] = []
    c.on('status', (s) => statuses.push(s))
    c.on('*', (_data, meta) => got.push(meta.seq))
    c.on('error', (e) => errors.push(e))
    c.on('resync', () => errors.push(new Error('resync')))
    await until(() => c.status === 'open', 2000, 'open')

    // 3.2 s: two renewals, each before the previous token's server-side expiry
    let published = 0
    const publisher = setInterval(() => (rt.publish('tick', ++published), undefined), 50)
    try {
      await until(() => seen.length >= 3, 4000, 'two renewals')
      expect(seen.slice(0, 3)).toEqual(['t-1', 't-2', 't-3'])
      expect(statuses).toEqual(['connecting', 'open'])
      expect(c.stats.reconnects).toBe(0)

      // the next renewal is refused: a new socket, with a fresh token, resumes the session
      rt.refuseAuth()
      const before = n
      await until(() => c.stats.reconnects === 1 && c.status === 'open' && n >= before + 2, 4000, 'a reconnect with a fresh token')
      expect(seen.at(-1)).toBe(`t-${n}`)
      expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    } finally {
      clearInterval(publisher)
    }
    await until(() => got.length === published, 2000, 'every event')
    expect(got).toEqual(Array.from({ length: published }, (_, i) => i + 1))
    expect(errors).toEqual([])
  }, 15_000)
})
