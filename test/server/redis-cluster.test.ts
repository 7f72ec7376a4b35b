/**
 * Several instances of the reference server on one Redis (`redisStore`), as behind a load
 * balancer: events published on any instance reach clients on every one, a client resumes its
 * session on whichever instance it reaches next, and the chaos run of the end-to-end suite
 * (test/e2e/node.test.ts) holds with every reconnection landing on a random instance. Plus a Redis
 * outage, through a TCP proxy that can cut the store's links.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import { RealtimeClient, type ResyncInfo } from '../../src/index.js'
import type { RealtimeServerOptions } from '../../src/server/index.js'
import { keysOf } from '../../src/server/redis-scripts.js'
import { every, prng, range, seedFor, seqsOf, strip, tally } from '../e2e/ledger.js'
import { newWireLog, tapped } from '../e2e/wire.js'
import { afterTest, type Frame, Peer, poll, post, runAlone, startServer, until } from './helpers.js'
import { describeWithRedis, onRedis, REDIS_URL, redisClient, redisPrefix } from './redis.js'

type Instance = Awaited<ReturnType<typeof startServer>>

/**
 * A `filter` that lets every event through, and a wait until every instance knows every session
 * and its patterns: they learn them from the store's channel, a moment after the instance that
 * took the change. A probe is an ordinary publish made while `filter` refuses everything: it
 * counts the sessions whose patterns take the event on that instance, and issues nothing.
 */
function probe() {
  let probing = false
  let takers = 0
  return {
    filter: (): boolean => {
      if (!probing) return true
      takers++
      return false
    },
    /** Wait until, on every instance, each event named would go to exactly that many sessions. */
    async settled(instances: readonly Instance[], expected: Record<string, number>): Promise<void> {
      const count = (rt: Instance, event: string): number => {
        takers = 0
        probing = true
        try {
          rt.publish(event, null)
        } finally {
          probing = false
        }
        return takers
      }
      await until(
        () => Object.entries(expected).every(([event, n]) => instances.every((rt) => count(rt, event) === n)),
        3000,
        `every instance to know every session and its patterns (${JSON.stringify(expected)})`,
      )
    },
  }
}

/** `n` instances on one store (one key prefix). */
async function cluster(n: number, options: RealtimeServerOptions = {}, prefix = redisPrefix()): Promise<Instance[]> {
  return Promise.all(Array.from({ length: n }, () => startServer({ ...onRedis(prefix), ...options })))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const pairs = (frames: Frame[]): [number, unknown][] => frames.map((f) => [f.seq, f.data.n])

describeWithRedis('several instances on one Redis', () => {
  it('an event published on any instance reaches the clients of every instance, each session with its own seqs', async () => {
    const p = probe()
    const [a, b, c] = (await cluster(3, { filter: p.filter })) as [Instance, Instance, Instance]
    const { peer: onA } = await Peer.connect(a.url, { events: ['orders.*'] })
    const { peer: onB } = await Peer.connect(b.url, { events: ['orders.*', 'alert'] })
    const { peer: onC } = await Peer.connect(c.url, { events: ['alert'] })
    await p.settled([a, b, c], { 'orders.x': 2, alert: 2, audit: 0 })

    // one at a time, so that every session gets them in this order
    expect(a.publish('orders.created', { n: 1 })).toBe(2)
    await Promise.all([onA.take('event'), onB.take('event')])
    expect(b.publish('alert', { n: 2 })).toBe(2)
    await Promise.all([onB.take('event'), onC.take('event')])
    expect(c.publish('orders.shipped', { n: 3 })).toBe(2)
    await Promise.all([onA.take('event'), onB.take('event')])
    expect(a.publish('alert', { n: 4 })).toBe(2)
    expect(c.publish('audit', { n: 5 })).toBe(0)
    await Promise.all([onB.take('event'), onC.take('event')])

    const events = (peer: Peer): [number, unknown][] => pairs(peer.frames.filter((f) => f.type === 'event'))
    expect(events(onA)).toEqual([[1, 1], [2, 3]])
    expect(events(onB)).toEqual([[1, 1], [2, 2], [3, 3], [4, 4]])
    expect(events(onC)).toEqual([[1, 2], [2, 4]])
    for (const peer of [onA, onB, onC]) expect(await peer.quiet('event')).toEqual([])
    // each instance delivered to its own client only: the welcome and that client's events
    expect([a, b, c].map((rt) => rt.stats().messagesSent)).toEqual([3, 5, 3])
  })

  it('filter on another instance sees the principal `authenticate` gave (as JSON) and follows its renewal', async () => {
    const p = probe()
    const [a, b] = (await cluster(2, {
      authenticate: (_req, token) => ({ user: token ?? 'nobody', since: 1 }),
      filter: (session, _event, d) => p.filter() && (d as { to: string }).to === (session.principal as { user?: string } | undefined)?.user,
    })) as [Instance, Instance]
    const { peer } = await Peer.connect(a.url, { token: 'ann', events: ['mail'] })
    await p.settled([a, b], { mail: 1 })
    b.publish('mail', { to: 'bob', n: 1 })
    b.publish('mail', { to: 'ann', n: 2 })
    expect(pairs(await peer.events(1))).toEqual([[1, 2]])
    peer.send({ type: 'auth', token: 'bob' })
    await peer.take('auth_ok')
    await until(() => {
      b.publish('mail', { to: 'bob', n: 3 })
      return peer.pending('event').length > 0
    })
    expect((await peer.take('event')).seq).toBe(2)
  })

  it('a client whose socket is dropped resumes on another instance with nothing lost or repeated', async () => {
    const p = probe()
    const [a, b, c] = (await cluster(3, { filter: p.filter })) as [Instance, Instance, Instance]
    const { peer, welcome } = await Peer.connect(a.url, { events: ['feed.*'] })
    await p.settled([a, b, c], { 'feed.item': 1 })
    for (let n = 1; n <= 3; n++) b.publish('feed.item', { n })
    expect(pairs(await peer.events(3))).toEqual([[1, 1], [2, 2], [3, 3]])
    peer.ws.terminate()
    await peer.closed
    // detached: the session buffers in Redis what it misses
    for (let n = 4; n <= 6; n++) c.publish('feed.item', { n })
    await sleep(20)

    const again = await Peer.open(b.url)
    expect(await again.hello({ session: welcome.session, after: 3, events: ['feed.*'] })).toMatchObject({ resumed: true, session: welcome.session, seq: 6 })
    expect(pairs(await again.events(3))).toEqual([[4, 4], [5, 5], [6, 6]])
    a.publish('feed.item', { n: 7 })
    expect(pairs(await again.events(1))).toEqual([[7, 7]])
    expect(await again.quiet('event')).toEqual([])
    expect(again.frames.map((f) => f.type)).toEqual(['welcome', 'event', 'event', 'event', 'event'])
    expect(b.stats()).toMatchObject({ replays: 1, replayFailures: 0 })
  })

  it('polls move between instances: a long poll on one is answered by a publish on another, a POST on a third applies everywhere', async () => {
    const p = probe()
    const [a, b, c] = (await cluster(3, { filter: p.filter })) as [Instance, Instance, Instance]
    const first = await poll(a, { events: 'jobs.*' })
    const { session } = first.body
    await p.settled([a, b, c], { 'jobs.1': 1, other: 0 })

    const held = poll(b, { session, after: 0, events: 'jobs.*', wait: 5000 })
    await until(() => b.stats().heldPolls === 1)
    c.publish('jobs.1', { n: 1 })
    const answer = await held
    expect(answer.body).toMatchObject({ session, resumed: true, seq: 1 })
    expect(pairs(answer.body.events)).toEqual([[1, 1]])

    expect(await post(c, { session, messages: [{ type: 'subscribe', events: ['other'] }] })).toBe(204)
    await p.settled([a, b, c], { other: 1 })
    a.publish('other', { n: 2 })
    b.publish('nothing', { n: 3 })
    await sleep(20)
    const next = await poll(c, { session, after: 1 })
    expect(next.body).toMatchObject({ session, resumed: true, seq: 2 })
    expect(pairs(next.body.events)).toEqual([[2, 2]])
  })

  it('chaos across three instances: each reconnection on a random instance, events published on all of them, every event once and in order', async () => {
    const seed = seedFor('CHAOS_SEED', 10)
    console.log(`[cluster chaos] seed=${seed} (replay with CHAOS_SEED=${seed - 10})`)
    const rnd = prng(seed)
    const pick = prng(seed ^ 0x5bd1e995) // the instance of each connection attempt
    const prefix = redisPrefix()
    const maxEvents = 20_000
    const errors: unknown[] = []
    const p = probe()
    const instances = await cluster(3, { replayBuffer: maxEvents, filter: p.filter, onError: (error) => errors.push(error) }, prefix)

    const NAMES: readonly (readonly [string, boolean])[] = [
      ['orders.created', true],
      ['orders.shipped', true],
      ['metrics.cpu.node1', true],
      ['alert', true],
      ['orders.eu.created', false],
      ['audit.login', false],
    ]
    const wire = newWireLog()
    const picks: number[] = []
    const client = new RealtimeClient({
      url: () => {
        const i = Math.floor(pick() * instances.length)
        picks.push(i)
        return (instances[i] as Instance).url
      },
      WebSocket: tapped(wire),
      dedupeKey: 'cluster-chaos',
      subscribe: ['orders.*', 'metrics.**', 'alert'],
      reconnect: { minDelay: 20, maxDelay: 100, factor: 2, jitter: 0.2 },
    })
    afterTest(() => client.close())
    const got: { seq: number; event: string; data: unknown }[] = []
    const resyncs: ResyncInfo[] = []
    const clientErrors: Error[] = []
    client.on('*', (data, meta) => got.push({ seq: meta.seq, event: meta.event, data }))
    client.on('resync', (info) => resyncs.push(info))
    client.on('error', (e) => clientErrors.push(e))
    await expect.poll(() => client.status, { timeout: 5000 }).toBe('open')
    await p.settled(instances, { alert: 1, 'audit.login': 0 })

    // ~14 events per 10 ms on average, in bursts of 20-60 with quiet ticks between, each burst
    // published on a random instance
    const published: { n: number; event: string; instance: number; wanted: boolean }[] = []
    const stops: (() => unknown)[] = []
    afterTest(() => stops.forEach((stop) => stop()))
    const publisher = every(
      10,
      () => {
        const instance = Math.floor(rnd() * instances.length)
        const size = rnd() < 0.3 ? 20 + Math.floor(rnd() * 40) : Math.floor(rnd() * 6)
        for (let i = 0; i < size && published.length < maxEvents; i++) {
          const [event, wanted] = NAMES[Math.floor(rnd() * NAMES.length)] as readonly [string, boolean]
          const n = published.length + 1
          published.push({ n, event, instance, wanted })
          ;(instances[instance] as Instance).publish(event, { n })
        }
      },
      stops,
    )

    let abrupt = 0
    let polite = 0
    const cut = (): void => {
      const kind = rnd()
      const code = kind < 0.8 ? undefined : kind < 0.87 ? 1001 : kind < 0.94 ? 1012 : 1000
      for (const rt of instances) rt.dropConnections(code)
      if (code === undefined) abrupt++
      else polite++
    }
    const started = performance.now()
    const DROPS = 30
    const EVENTS = 3_000
    while (abrupt + polite < DROPS || published.filter((e) => e.wanted).length < EVENTS) {
      const drops = abrupt + polite
      if (wire.live === 0 && rnd() < 0.1) {
        // in the handshake: as the next socket opens, before the client's `hello` has left
        wire.onOpen = () => {
          wire.onOpen = undefined
          cut()
        }
        await until(() => abrupt + polite > drops && wire.live === 0, 10_000, `a cut in the handshake (seed ${seed})`)
        continue
      }
      await until(() => wire.live > 0, 10_000, `a socket to cut (seed ${seed})`)
      await sleep(rnd() < 0.15 ? 0 : 5 + rnd() * 100)
      if (wire.live === 0) continue
      cut()
      await until(() => wire.live === 0, 10_000, `the client to see its socket cut (seed ${seed})`)
    }
    publisher.stop()
    const wanted = published.filter((e) => e.wanted)
    await vi.waitFor(() => {
      expect(client.status).toBe('open')
      expect(got.length).toBeGreaterThanOrEqual(wanted.length)
    }, { timeout: 15_000, interval: 10 })
    const duration = (performance.now() - started) / 1000

    // What the server issued to the session: its stream in Redis (the buffer holds all of them).
    const session = wire.resumes[0]?.session as string
    const redis = await redisClient(REDIS_URL)
    const stream = await redis.xRange(keysOf(prefix).stream(session), '-', '+')
    await redis.close()
    const issued = stream.map((e) => ({ seq: Number.parseInt(e.id, 10), event: e.message.e as string, data: JSON.parse(e.message.d as string) as { n: number } }))

    const t = tally(issued, got)
    const used = new Set(picks)
    console.log(
      `[cluster chaos] events=${issued.length} published=${published.length} drops=${abrupt + polite} (abrupt ${abrupt}, polite ${polite}, before welcome ${wire.sockets - wire.resumes.length}) ` +
        `instances used=${used.size} connections=${picks.length} lost=${t.lost} duplicated=${t.duplicated} outOfOrder=${t.outOfOrder} ` +
        `reconnects=${client.stats.reconnects} replayed=${client.stats.replayed} resyncs=${resyncs.length} duration=${duration.toFixed(1)}s`,
    )

    expect(abrupt + polite).toBeGreaterThanOrEqual(DROPS)
    expect(used.size).toBeGreaterThanOrEqual(2)
    // Issued: seqs 1..N, and exactly the published events the patterns take, each once, in the
    // order each instance published them.
    expect(seqsOf(issued)).toEqual(range(1, issued.length))
    expect(issued.map((e) => e.data.n).sort((x, y) => x - y)).toEqual(wanted.map((e) => e.n))
    for (let i = 0; i < instances.length; i++) {
      const mine = issued.map((e) => e.data.n).filter((n) => published[n - 1]?.instance === i)
      expect(mine).toEqual(wanted.filter((e) => e.instance === i).map((e) => e.n))
    }
    expect(issued.every((e) => e.event === published[e.data.n - 1]?.event)).toBe(true)
    // Delivered: exactly what was issued, once each, in order, with no resync.
    expect(t).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, wrongPayload: 0, unexpected: 0 })
    expect(strip(got)).toEqual(strip(issued))
    expect(resyncs).toEqual([])
    expect(wire.replayFailed).toEqual([])
    expect(wire.resumes.slice(1).every((r) => r.resumed && r.session === session)).toBe(true)
    expect(client.stats).toMatchObject({ messages: issued.length, resyncs: 0, gaps: 0 })
    expect(clientErrors).toEqual([])
    expect(errors).toEqual([])
  }, 45_000)
})

/** A TCP proxy to Redis whose links can be cut and refused, as in an outage; closed after the test. */
async function redisProxy(): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const target = new URL(REDIS_URL)
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    const upstream = connect(Number(target.port || 6379), target.hostname)
    for (const s of [socket, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    socket.pipe(upstream).pipe(socket)
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
  })
  const listen = (port: number): Promise<void> => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()))
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  await listen(0)
  const port = (server.address() as { port: number }).port
  afterTest(() => (server.listening ? close() : undefined))
  return { url: `redis://127.0.0.1:${port}`, cut: close, restore: () => listen(port) }
}

describeWithRedis('a Redis outage', () => {
  it('is reported to onError and fails what needs Redis cleanly (1011, 500); once Redis is back, clients resume with nothing lost', async () => {
    const proxy = await redisProxy()
    const errors: string[] = []
    const rt = await startServer({ ...onRedis(redisPrefix(), proxy.url), onError: (_error, context) => errors.push(context) })
    const { peer, welcome } = await Peer.connect(rt.url)
    rt.publish('a', { n: 1 })
    expect(pairs(await peer.events(1))).toEqual([[1, 1]])

    await proxy.cut()
    // the channel is lost: the socket goes, so that its client resumes from Redis
    expect((await peer.closed).code).toBe(1012)
    await until(() => errors.length >= 2)
    expect(errors.sort()).toEqual(['redis store: the commands connection failed; retrying', 'redis store: the pub/sub connection failed; retrying'])
    expect(() => rt.publish('a', { n: 2 })).not.toThrow()
    const refused = await Peer.open(rt.url)
    refused.send({ type: 'hello', v: 1, session: welcome.session, after: 1, events: [] })
    expect((await refused.closed).code).toBe(1011)
    expect((await poll(rt, { session: welcome.session, after: 1 })).status).toBe(500)

    await proxy.restore()
    let back: { peer: Peer; welcome: Frame } | undefined
    for (let i = 0; i < 100 && !back; i++) {
      const attempt = await Peer.open(rt.url)
      attempt.send({ type: 'hello', v: 1, session: welcome.session, after: 1, events: [] })
      const answer = await Promise.race([attempt.take('welcome', 5000), attempt.closed])
      if ('type' in answer) back = { peer: attempt, welcome: answer }
      else await sleep(50)
    }
    // the same session: the event published while Redis was away was never issued, so none is missing
    expect(back?.welcome).toMatchObject({ resumed: true, session: welcome.session, seq: 1 })
    rt.publish('a', { n: 3 })
    expect(pairs(await (back as { peer: Peer }).peer.events(1))).toEqual([[2, 3]])
    // reported once per connection, not once per operation the outage failed
    expect(errors.sort()).toEqual(['redis store: the commands connection failed; retrying', 'redis store: the pub/sub connection failed; retrying'])
  }, 20_000)
})


describeWithRedis('close() on a Redis store', () => {
  it('leaves nothing running: a process with a socket, a held poll and both links to Redis exits by itself', async () => {
    const prefix = redisPrefix()
    const result = await runAlone(`
      import { createRealtimeServer, redisStore } from './src/server/index.ts'
      import WebSocket from 'ws'
      const rt = createRealtimeServer({ port: 0, heartbeat: 50, sessionTtl: 100, store: redisStore({ url: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(prefix)} }) })
      await rt.ready
      const ws = new WebSocket(rt.url)
      await new Promise((resolve) => ws.on('open', resolve))
      ws.send(JSON.stringify({ type: 'hello', v: 1, session: null, after: null, events: [] }))
      await new Promise((resolve) => ws.once('message', resolve))
      const first = await (await fetch(rt.pollUrl)).json()
      const held = fetch(rt.pollUrl + '?session=' + first.session + '&after=0&wait=20000').then((r) => r.json())
      while (rt.stats().heldPolls === 0) await new Promise((r) => setTimeout(r, 5))
      rt.publish('a', 1)
      const answer = await held
      await rt.close()
      console.log('closed after ' + answer.events.length + ' event')
    `)
    expect(result).toEqual({ exit: 0, stdout: 'closed after 1 event', stderr: '' })
  })
})

describe('a Redis store that cannot reach Redis', () => {
  it('reports it once per connection, serves nothing, and close() ends it: the process exits by itself', async () => {
    const result = await runAlone(`
      import { createRealtimeServer, redisStore } from './src/server/index.ts'
      const errors = []
      const rt = createRealtimeServer({ port: 0, store: redisStore({ url: 'redis://127.0.0.1:1' }), onError: (_e, context) => errors.push(context) })
      const ready = rt.ready.then(() => 'resolved', (error) => error.message)
      while (errors.length < 2) await new Promise((r) => setTimeout(r, 5))
      const published = rt.publish('a', 1)
      await rt.close()
      console.log(JSON.stringify({ published, ready: await ready, errors: errors.sort() }))
    `)
    expect(result.stderr).toBe('')
    expect(result.exit).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      published: 0,
      ready: 'redis store: closed before it connected',
      errors: ['redis store: the commands connection failed; retrying', 'redis store: the pub/sub connection failed; retrying'],
    })
  })
})
