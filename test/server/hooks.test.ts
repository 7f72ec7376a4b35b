import { describe, expect, it } from 'vitest'
import type { SessionView } from '../../src/server/index.js'
import { Peer, poll, post, startServer } from './helpers.js'

type User = { user: string; expires?: number }

const tokenOf = (url: string | undefined): string | null => new URL(url ?? '/', 'http://x').searchParams.get('token')

describe('authenticate', () => {
  const authenticate = (req: { url?: string | undefined }, token: string | undefined): User | false => {
    const t = token ?? tokenOf(req.url)
    return t?.startsWith('good') ? { user: t } : false
  }

  it('closes with 4001 when hello is refused, and accepts a token in the URL or in hello', async () => {
    const rt = await startServer<User>({ authenticate })
    const bad = await Peer.open(`${rt.url}?token=bad`)
    bad.send({ type: 'hello', v: 1, session: null, after: null, events: [] })
    expect((await bad.closed).code).toBe(4001)
    expect(bad.pending('welcome')).toEqual([])

    await Peer.connect(`${rt.url}?token=good1`)
    await Peer.connect(rt.url, { token: 'good2' })
    expect(rt.stats().unauthorized).toBe(1)
  })

  it('answers `auth` with auth_ok (and expires) or closes with 4001', async () => {
    const rt = await startServer<User>({ authenticate: (req, token) => (token === 'renew' ? { user: 'u', expires: 4102444800000 } : authenticate(req, token)) })
    const { peer } = await Peer.connect(rt.url, { token: 'good' })
    peer.send({ type: 'auth', token: 'good-again' })
    expect(await peer.take()).toEqual({ type: 'auth_ok' })
    peer.send({ type: 'auth', token: 'renew' })
    expect(await peer.take()).toEqual({ type: 'auth_ok', expires: 4102444800000 })
    peer.send({ type: 'auth', token: 'stolen' })
    expect((await peer.closed).code).toBe(4001)
  })

  it('closes with 4001 once the principal\'s `expires` has passed', async () => {
    const rt = await startServer<User>({ heartbeat: 40, authenticate: () => ({ user: 'u', expires: Date.now() + 60 }) })
    const { peer } = await Peer.connect(rt.url)
    const closed = await peer.closed
    expect(closed).toEqual({ code: 4001, reason: 'credentials expired' })
  })

  it('a throwing authenticate is an internal error (1011 / 500), never a 4001', async () => {
    const errors: unknown[] = []
    const rt = await startServer({
      authenticate: () => {
        throw new Error('auth backend down')
      },
      onError: (e) => errors.push(e),
    })
    const peer = await Peer.open(rt.url)
    peer.send({ type: 'hello', v: 1, session: null, after: null, events: [] })
    expect((await peer.closed).code).toBe(1011)
    expect((await poll(rt)).status).toBe(500)
    expect(errors).toHaveLength(2)
  })

  it('refuses polls with 401, and passes the principal to the hooks', async () => {
    const seen: (User | undefined)[] = []
    const rt = await startServer<User>({ authenticate, filter: (s) => (seen.push(s.principal), true) })
    const refused = await poll(rt, { token: 'bad' })
    expect(refused.status).toBe(401)
    expect((await post(rt, { session: 's-x', messages: [] }))).toBe(401)
    const ok = await poll(rt, { token: 'good-poll' })
    expect(ok.status).toBe(200)
    rt.publish('a', null)
    expect(seen).toEqual([{ user: 'good-poll' }])
  })
})

describe('refresh', () => {
  it('delivers the snapshot as ordinary events with seqs, through patterns and filter', async () => {
    const asked: string[] = []
    const rt = await startServer({
      snapshot: async (session: SessionView<object>) => {
        asked.push(session.id)
        return [
          { event: 'alert', data: { id: 'a1' } },
          { event: 'host.up', data: { id: 'h1' } },
          { event: 'alert', data: { id: 'a2' } },
        ]
      },
    })
    const { peer, welcome } = await Peer.connect(rt.url, { events: ['alert'] })
    rt.publish('alert', { id: 'live' })
    await peer.take('event')
    peer.send({ type: 'refresh' })
    const got = await peer.events(2)
    expect(got.map((e) => [e.seq, e.event, e.data.id])).toEqual([[2, 'alert', 'a1'], [3, 'alert', 'a2']])
    expect(asked).toEqual([welcome.session])
    expect(await peer.quiet('event')).toEqual([])
  })

  it('reports a failing snapshot with refresh_failed, and ignores refresh without a snapshot hook', async () => {
    const rt = await startServer({ snapshot: () => Promise.reject(new Error('db down')), onError: () => {} })
    const { peer } = await Peer.connect(rt.url)
    peer.send({ type: 'refresh' })
    expect(await peer.take('error')).toMatchObject({ code: 'refresh_failed' })

    const plain = await startServer()
    const { peer: p2 } = await Peer.connect(plain.url)
    p2.send({ type: 'refresh' })
    p2.send({ type: 'ping', id: 1 })
    await p2.take('pong')
    expect(p2.frames.map((f) => f.type)).toEqual(['welcome', 'pong'])
  })

  it('works over a poll POST: the snapshot lands in the session and the next GET carries it', async () => {
    const rt = await startServer({ snapshot: () => [{ event: 'state', data: 1 }] })
    const first = await poll(rt)
    expect(await post(rt, { session: first.body.session, messages: [{ type: 'refresh' }] })).toBe(204)
    const next = await poll(rt, { session: first.body.session, after: 0, events: '' })
    expect(next.body).toMatchObject({ resumed: true, seq: 1, events: [{ type: 'event', seq: 1, event: 'state', data: 1 }] })
  })
})

describe('ack', () => {
  it('asks for acks with ack:true and reports them through onAck (WebSocket and POST)', async () => {
    const acks: [string, number, unknown][] = []
    const rt = await startServer({ onAck: (s, seq, item) => acks.push([s.id, seq, item]) })
    const { peer, welcome } = await Peer.connect(rt.url)
    rt.publish('alert', { id: 1 }, { ack: true })
    rt.publish('alert', { id: 2 })
    const [e1, e2] = await peer.events(2)
    expect(e1).toMatchObject({ seq: 1, ack: true })
    expect(e2).not.toHaveProperty('ack')
    peer.send({ type: 'ack', seq: 1 })
    peer.send({ type: 'ack', seq: 99 }) // not issued: ignored
    peer.send({ type: 'ping', id: 1 })
    await peer.take('pong')
    expect(acks).toEqual([[welcome.session, 1, { event: 'alert', data: { id: 1 } }]])

    expect(await post(rt, { session: welcome.session, messages: [{ type: 'ack', seq: 2 }] })).toBe(204)
    expect(acks[1]).toEqual([welcome.session, 2, { event: 'alert', data: { id: 2 } }])
  })
})
