/**
 * What any session store must do, run against each: the default one in memory and `redisStore`
 * (against a real Redis, see redis.ts). One server here; several instances on one Redis are
 * tested in redis-cluster.test.ts.
 */
import { describe, expect, it } from 'vitest'
import type { RealtimeServerOptions, SessionView } from '../../src/server/index.js'
import { type Frame, Peer, poll, post, seqs, startServer, until } from './helpers.js'
import { describeWithRedis, onRedis } from './redis.js'

type User = { user: string }

const STORES: { name: string; describe: (name: string, body: () => void) => void; options: () => RealtimeServerOptions<User> }[] = [
  { name: 'memory', describe, options: () => ({}) },
  { name: 'redis', describe: describeWithRedis, options: () => onRedis() },
]

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const data = (frames: Frame[]): unknown[] => frames.map((f) => f.data)

/** Drop a peer's socket as a lost network would, and wait until the server saw it go. */
async function cut(peer: Peer): Promise<void> {
  peer.ws.terminate()
  await peer.closed
}

for (const store of STORES) {
  store.describe(`${store.name} store`, () => {
    const start = (options: RealtimeServerOptions<User> = {}) => startServer<User>({ ...store.options(), ...options })

    it('numbers events per session, each one more than the last; publish counts the sessions that took it', async () => {
      const rt = await start()
      const { peer: a, welcome } = await Peer.connect(rt.url)
      expect(welcome).toMatchObject({ resumed: false, seq: 0 })
      expect(rt.publish('alert', { n: 1 })).toBe(1)
      const { peer: b } = await Peer.connect(rt.url)
      expect(rt.publish('alert', { n: 2 })).toBe(2)
      expect(rt.publish('alert', { n: 3 }, { ack: true })).toBe(2)
      const got = await a.events(3)
      expect(got.map((e) => [e.seq, e.data.n, e.ack ?? false])).toEqual([[1, 1, false], [2, 2, false], [3, 3, true]])
      expect((await b.events(2)).map((e) => [e.seq, e.data.n])).toEqual([[1, 2], [2, 3]])
      expect(rt.stats()).toMatchObject({ sessions: 2, connections: 2, published: 3, delivered: 5 })
    })

    it('patterns, then filter (with the principal), then a seq: no session sees a gap', async () => {
      const rt = await start({
        authenticate: (_req, token) => ({ user: token ?? 'nobody' }),
        filter: (session: SessionView<User>, _event, d) => (d as { to?: string }).to === undefined || (d as { to?: string }).to === session.principal?.user,
      })
      const { peer: ann } = await Peer.connect(rt.url, { token: 'ann', events: ['mail.*'] })
      const { peer: bob } = await Peer.connect(rt.url, { token: 'bob', events: ['mail.*', 'news'] })
      rt.publish('mail.new', { to: 'bob', n: 1 })
      rt.publish('news', { n: 2 })
      rt.publish('mail.new', { to: 'ann', n: 3 })
      rt.publish('mail.new', { n: 4 })
      rt.publish('mail.eu.new', { n: 5 })
      expect((await ann.events(2)).map((e) => [e.seq, e.data.n])).toEqual([[1, 3], [2, 4]])
      expect((await bob.events(3)).map((e) => [e.seq, e.data.n])).toEqual([[1, 1], [2, 2], [3, 4]])
      expect(await ann.quiet('event')).toEqual([])
    })

    it('resumes after a dropped socket: the welcome, what followed `after`, then live events', async () => {
      const rt = await start()
      const { peer, welcome } = await Peer.connect(rt.url)
      for (let i = 1; i <= 5; i++) rt.publish('alert', { i })
      await peer.events(5)
      await cut(peer)
      rt.publish('alert', { i: 6 })
      const again = await Peer.open(rt.url)
      expect(await again.hello({ session: welcome.session, after: 2 })).toMatchObject({ resumed: true, session: welcome.session, seq: 6 })
      expect((await again.events(4)).map((e) => [e.seq, e.data.i])).toEqual([[3, 3], [4, 4], [5, 5], [6, 6]])
      expect(again.frames.map((f) => f.type)).toEqual(['welcome', 'event', 'event', 'event', 'event'])
      rt.publish('alert', { i: 7 })
      expect((await again.take('event')).seq).toBe(7)
      expect(await again.quiet('event')).toEqual([])
    })

    it('resumes with replay_failed when the buffer no longer covers `after`, and replays exactly what it still covers', async () => {
      const rt = await start({ replayBuffer: 3 })
      const { peer, welcome } = await Peer.connect(rt.url)
      for (let i = 1; i <= 5; i++) rt.publish('alert', { i }) // the buffer keeps 3..5
      await peer.events(5)
      await cut(peer)
      const again = await Peer.open(rt.url)
      expect(await again.hello({ session: welcome.session, after: 1 })).toMatchObject({ resumed: true, seq: 5 })
      expect(await again.take()).toEqual({ type: 'replay_failed', after: 1, seq: 5 })
      expect(await again.quiet('event')).toEqual([])
      await cut(again)
      const last = await Peer.open(rt.url)
      expect(await last.hello({ session: welcome.session, after: 2 })).toMatchObject({ resumed: true, seq: 5 })
      expect(seqs(await last.events(3))).toEqual([3, 4, 5])
      expect(rt.stats()).toMatchObject({ replays: 1, replayFailures: 1 })
    })

    it('answers `replay` with the buffered events after `after`, or replay_failed', async () => {
      const rt = await start({ replayBuffer: 4 })
      const { peer } = await Peer.connect(rt.url)
      for (let i = 1; i <= 6; i++) rt.publish('alert', { i })
      await peer.events(6)
      peer.send({ type: 'replay', after: 3 })
      expect((await peer.events(3)).map((e) => [e.seq, e.data.i])).toEqual([[4, 4], [5, 5], [6, 6]])
      rt.publish('alert', { i: 7 })
      expect((await peer.take('event')).seq).toBe(7)
      peer.send({ type: 'replay', after: 7 })
      peer.send({ type: 'replay', after: 1 }) // 2 was evicted
      expect(await peer.take()).toEqual({ type: 'replay_failed', after: 1, seq: 7 })
      expect(await peer.quiet('event')).toEqual([])
    })

    it('bounds the replay buffer in age as well', async () => {
      const rt = await start({ replayMaxAge: 50 })
      const { peer, welcome } = await Peer.connect(rt.url)
      rt.publish('alert', {})
      await peer.take('event')
      await cut(peer)
      rt.publish('alert', {})
      await sleep(80)
      const again = await Peer.open(rt.url)
      expect(await again.hello({ session: welcome.session, after: 1 })).toMatchObject({ resumed: true, seq: 2 })
      expect(await again.take()).toEqual({ type: 'replay_failed', after: 1, seq: 2 })
    })

    it('starts a new session for an unknown id, an expired session, or an `after` past the head', async () => {
      const rt = await start({ sessionTtl: 100 })
      const unknown = await Peer.connect(rt.url, { session: 's-nobody', after: 3 })
      expect(unknown.welcome).toMatchObject({ resumed: false, seq: 0 })
      expect(unknown.welcome.session).not.toBe('s-nobody')

      const { peer, welcome } = await Peer.connect(rt.url)
      rt.publish('alert', {})
      await peer.take('event')
      peer.close()
      await peer.closed
      const ahead = await Peer.connect(rt.url, { session: welcome.session, after: 9 })
      expect(ahead.welcome).toMatchObject({ resumed: false, seq: 0 })
      expect(ahead.welcome.session).not.toBe(welcome.session)
      await sleep(150)
      const expired = await Peer.connect(rt.url, { session: welcome.session, after: 1 })
      expect(expired.welcome).toMatchObject({ resumed: false, seq: 0 })
      expect(expired.welcome.session).not.toBe(welcome.session)
    })

    it('keeps a session alive while its socket is open, however long', async () => {
      const rt = await start({ sessionTtl: 60, heartbeat: 1000 })
      const { peer, welcome } = await Peer.connect(rt.url)
      await sleep(200)
      rt.publish('alert', {})
      expect((await peer.take('event')).seq).toBe(1)
      await cut(peer)
      const back = await Peer.connect(rt.url, { session: welcome.session, after: 1 })
      expect(back.welcome).toMatchObject({ resumed: true, session: welcome.session, seq: 1 })
    })

    it('keeps the patterns of a session across a resume, and applies subscribe and unsubscribe', async () => {
      const rt = await start()
      const { peer, welcome } = await Peer.connect(rt.url, { events: ['a'] })
      peer.send({ type: 'subscribe', events: ['b.*', 'c'] })
      peer.send({ type: 'unsubscribe', events: ['c'] })
      peer.send({ type: 'ping', id: 1 })
      await peer.take('pong') // frames are handled in order: both are in effect
      await cut(peer)
      for (const name of ['a', 'b.x', 'c', 'b.y.z']) rt.publish(name, name)
      // a poll without `events` leaves the patterns as they are
      const answer = await poll(rt, { session: welcome.session, after: 0 })
      expect(answer.body).toMatchObject({ session: welcome.session, resumed: true, seq: 2 })
      expect(data(answer.body.events)).toEqual(['a', 'b.x'])
    })

    it('polls: starts a session, holds a long poll until an event arrives, and takes POSTed messages', async () => {
      const rt = await start()
      const first = await poll(rt, { events: 'jobs.*' })
      expect(first.body).toEqual({ session: expect.stringMatching(/^s-/), resumed: false, seq: 0, events: [] })
      const { session } = first.body
      const pending = poll(rt, { session, after: 0, events: 'jobs.*', wait: 5000 })
      await until(() => rt.stats().heldPolls === 1)
      rt.publish('jobs.1', 1)
      rt.publish('other', 2)
      rt.publish('jobs.2', 3)
      const answer = await pending
      expect(answer.body).toMatchObject({ session, resumed: true, seq: 2 })
      expect(seqs(answer.body.events)).toEqual([1, 2])
      expect(data(answer.body.events)).toEqual([1, 3])

      expect(await post(rt, { session, messages: [{ type: 'subscribe', events: ['other'] }] })).toBe(204)
      expect(await post(rt, { session: 's-nobody', messages: [] })).toBe(404)
      rt.publish('other', 4)
      const next = await poll(rt, { session, after: 2 })
      expect(data(next.body.events)).toEqual([4])
      expect(rt.stats()).toMatchObject({ posts: 1, heldPolls: 0 })
    })

    it('refuses a new session past maxSessions: 4008 over a socket, 503 over polling', async () => {
      const rt = await start({ maxSessions: 1 })
      const { peer, welcome } = await Peer.connect(rt.url)
      peer.close() // the session stays live, detached
      await peer.closed
      const over = await Peer.open(rt.url)
      over.send({ type: 'hello', v: 1, session: null, after: null, events: [] })
      expect((await over.closed).code).toBe(4008)
      const refused = await poll(rt)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('5')
      // the live session itself still resumes
      const again = await Peer.connect(rt.url, { session: welcome.session, after: 0 })
      expect(again.welcome).toMatchObject({ resumed: true })
      expect(rt.stats().overCapacity).toBe(2)
    })

    it('hands onAck the acked event while it is buffered', async () => {
      const acks: [number, unknown][] = []
      const rt = await start({ onAck: (_session, seq, item) => void acks.push([seq, item]) })
      const { peer } = await Peer.connect(rt.url)
      rt.publish('order', { id: 7 }, { ack: true })
      const event = await peer.take('event')
      expect(event).toMatchObject({ seq: 1, ack: true })
      peer.send({ type: 'ack', seq: 1 })
      peer.send({ type: 'ack', seq: 5 }) // never issued: ignored
      await until(() => acks.length > 0)
      await peer.quiet('event')
      expect(acks).toEqual([[1, { event: 'order', data: { id: 7 } }]])
    })

    it('answers refresh with the snapshot, as events with seqs, to that session only', async () => {
      const rt = await start({ snapshot: (session) => [{ event: 'state', data: { for: session.id } }, { event: 'hidden', data: null }] })
      const { peer, welcome } = await Peer.connect(rt.url, { events: ['state', 'live'] })
      const { peer: other } = await Peer.connect(rt.url)
      rt.publish('live', 1)
      await peer.take('event')
      peer.send({ type: 'refresh' })
      expect(await peer.take('event')).toMatchObject({ seq: 2, event: 'state', data: { for: welcome.session } })
      expect(await peer.quiet('event')).toEqual([])
      expect(seqs(await other.events(1))).toEqual([1])
      expect(await other.quiet('event')).toEqual([])
    })

    it('close(): sockets close with 1001, a held poll is answered, publish does nothing', async () => {
      const rt = await start()
      const { peer } = await Peer.connect(rt.url)
      const { body } = await poll(rt)
      const held = poll(rt, { session: body.session, after: 0, wait: 10_000 })
      await until(() => rt.stats().heldPolls === 1)
      await rt.close()
      expect((await peer.closed).code).toBe(1001)
      const answer = await held
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ session: body.session, resumed: true, events: [] })
      expect(rt.publish('a', 1)).toBe(0)
    })

    it('forgetSessions() acts like a restart: sockets close (1012), resumes get new sessions', async () => {
      const rt = await start()
      const { peer, welcome } = await Peer.connect(rt.url)
      rt.publish('a', 1)
      await peer.take('event')
      rt.forgetSessions()
      expect((await peer.closed).code).toBe(1012)
      expect(rt.stats().sessions).toBe(0)
      const { peer: next, welcome: w } = await Peer.connect(rt.url, { session: welcome.session, after: 1 })
      expect(w).toMatchObject({ resumed: false, seq: 0 })
      rt.publish('a', 2)
      expect(await next.take('event')).toMatchObject({ seq: 1, data: 2 })
      expect(rt.stats().sessions).toBe(1)
    })
  })
}
