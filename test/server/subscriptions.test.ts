import { describe, expect, it } from 'vitest'
import type { SessionView } from '../../src/server/index.js'
import { type Frame, Peer, seqs, startServer } from './helpers.js'

const names = (frames: Frame[]): string[] => frames.map((f) => f.event)

describe('patterns', () => {
  it('delivers by `*` (one segment) and `**` (zero or more, last only)', async () => {
    const rt = await startServer()
    const { peer } = await Peer.connect(rt.url, { events: ['incident.*', 'jobs.**', 'alert'] })
    for (const name of ['alert', 'alerts', 'incident', 'incident.created', 'incident.created.eu', 'jobs', 'jobs.42', 'jobs.42.log', 'host']) {
      rt.publish(name, null)
    }
    const got = await peer.events(5)
    expect(names(got)).toEqual(['alert', 'incident.created', 'jobs', 'jobs.42', 'jobs.42.log'])
    expect(seqs(got)).toEqual([1, 2, 3, 4, 5])
    expect(await peer.quiet('event')).toEqual([])
  })

  it('an empty subscription set means every event', async () => {
    const rt = await startServer()
    const { peer } = await Peer.connect(rt.url, { events: [] })
    rt.publish('a', 1)
    rt.publish('b.c.d', 2)
    expect(names(await peer.events(2))).toEqual(['a', 'b.c.d'])
  })

  it('subscribe adds and unsubscribe removes patterns; unsubscribing all means every event again', async () => {
    const rt = await startServer()
    const { peer } = await Peer.connect(rt.url, { events: ['a'] })
    peer.send({ type: 'subscribe', events: ['b.*'] })
    peer.send({ type: 'ping', id: 1 })
    await peer.take('pong') // frames are handled in order: the subscribe is in effect
    rt.publish('b.x', null)
    rt.publish('c', null)
    rt.publish('a', null)
    expect(names(await peer.events(2))).toEqual(['b.x', 'a'])
    peer.send({ type: 'unsubscribe', events: ['a'] })
    peer.send({ type: 'ping', id: 2 })
    await peer.take('pong')
    rt.publish('a', null)
    rt.publish('b.y', null)
    expect((await peer.take('event')).event).toBe('b.y')
    peer.send({ type: 'unsubscribe', events: ['b.*'] })
    peer.send({ type: 'ping', id: 3 })
    await peer.take('pong')
    rt.publish('c', null)
    expect((await peer.take('event')).event).toBe('c')
  })

  it('hello replaces the set on resume', async () => {
    const rt = await startServer()
    const { peer, welcome } = await Peer.connect(rt.url, { events: ['a'] })
    peer.close()
    await peer.closed
    const { peer: p2 } = await Peer.connect(rt.url, { session: welcome.session, after: 0, events: ['b'] })
    rt.publish('a', null)
    rt.publish('b', null)
    expect(await p2.take('event')).toMatchObject({ event: 'b', seq: 1 })
  })

  it('refuses invalid patterns and patterns past maxPatternsPerSession with an error, keeping the rest', async () => {
    const rt = await startServer({ maxPatternsPerSession: 2 })
    const { peer } = await Peer.connect(rt.url, { events: ['a', 'x.**.y'] })
    expect(await peer.take('error')).toMatchObject({ code: 'bad_request', message: expect.stringContaining('x.**.y') })
    peer.send({ type: 'subscribe', events: ['b', 'c'] })
    expect(await peer.take('error')).toMatchObject({ code: 'limit_exceeded', message: expect.stringContaining('"c"') })
    rt.publish('c', null)
    rt.publish('b', null)
    expect((await peer.take('event')).event).toBe('b')
    expect(peer.ws.readyState).toBe(peer.ws.OPEN)
  })

  it('publish refuses invalid event names', async () => {
    const rt = await startServer()
    expect(() => rt.publish('a.*', null)).toThrow(TypeError)
    expect(() => rt.publish('', null)).toThrow(TypeError)
    expect(() => rt.publish('a..b', null)).toThrow(TypeError)
    expect(() => rt.publish('a', 10n)).toThrow(TypeError)
    expect(rt.stats().published).toBe(0)
  })
})

describe('filter hook', () => {
  it('runs before the seq is assigned: a filtered session sees no gap', async () => {
    const calls: [string, string, unknown][] = []
    const rt = await startServer<{ user: string }>({
      authenticate: (req) => ({ user: new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? '' }),
      filter: (session: SessionView<{ user: string }>, event, data) => {
        calls.push([session.principal?.user ?? '', event, data])
        return (data as { to?: string }).to === undefined || (data as { to?: string }).to === session.principal?.user
      },
    })
    const { peer: alice } = await Peer.connect(`${rt.url}?user=alice`)
    const { peer: bob } = await Peer.connect(`${rt.url}?user=bob`)
    rt.publish('msg', { n: 1 })
    rt.publish('msg', { n: 2, to: 'alice' })
    rt.publish('msg', { n: 3, to: 'bob' })
    rt.publish('msg', { n: 4 })
    rt.publish('msg', { n: 5, to: 'bob' })
    const a = await alice.events(3)
    const b = await bob.events(4)
    expect(a.map((e) => [e.seq, e.data.n])).toEqual([[1, 1], [2, 2], [3, 4]])
    expect(b.map((e) => [e.seq, e.data.n])).toEqual([[1, 1], [2, 3], [3, 4], [4, 5]])
    expect(calls).toHaveLength(10)
    expect(rt.stats()).toMatchObject({ published: 5, delivered: 7 })
  })

  it('is not asked about sessions whose patterns do not match; a throwing filter counts as false', async () => {
    const errors: unknown[] = []
    let asked = 0
    const rt = await startServer({
      filter: (_s, event) => {
        asked++
        if (event === 'boom') throw new Error('boom')
        return true
      },
      onError: (e) => errors.push(e),
    })
    const { peer } = await Peer.connect(rt.url, { events: ['ok', 'boom'] })
    rt.publish('other', null)
    rt.publish('boom', null)
    rt.publish('ok', null)
    expect(await peer.take('event')).toMatchObject({ event: 'ok', seq: 1 })
    expect(asked).toBe(2)
    expect(errors).toHaveLength(1)
  })
})
