/**
 * End to end in Node, under faults: the real client (`RealtimeClient`, src/index.ts) against the
 * real reference server (`wirefeed/server`), over real sockets and HTTP on 127.0.0.1, with real
 * timers. Each test injects one kind of failure through the server's test hooks and checks what
 * the app sees against what the server issued.
 *
 * The ground truth is the server's: a `filter` hook that accepts every event records, for each
 * session, the seq it is about to assign (the hook runs right before the session takes the event,
 * see `filter` in src/server/options.ts). A tapped WebSocket constructor records what actually
 * crossed the wire on the client's side (welcome, replay_failed, close codes).
 *
 * The chaos runs use a seeded PRNG for every random choice they make (burst sizes, event names,
 * when to cut the socket and how); the seed is printed, and `CHAOS_SEED=<n>` replays the same
 * choices. (The timing of real sockets is not reproducible; the schedule of faults is.)
 */
import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RealtimeClient, type ClientOptions, type ResyncInfo } from '../../src/index.js'
import { createRealtimeServer, type RealtimeServer } from '../../src/server/index.js'
import { startServer, until } from '../server/helpers.js'
import { every, ledger, prng, range, seedFor, seqsOf, strip, tally } from './ledger.js'
import { newWireLog, tapped, type WireLog } from './wire.js'

// ---------------------------------------------------------------------------------------------
// Harness

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Run `tick` every `ms` until stopped, or after the test at the latest. */
const repeat = (ms: number, tick: () => void): { stop(): void } => every(ms, tick, cleanups)

/** Short client timings: real sockets on loopback answer in well under a millisecond. */
const FAST = { minDelay: 20, maxDelay: 200, factor: 2, jitter: 0.2 } as const

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Delivered {
  seq: number
  event: string
  data: unknown
  transport: 'websocket' | 'polling' | null
}

let keys = 0

/** A client handle with everything it emits recorded; closed after the test. */
function watch({ wire = newWireLog(), ...options }: Partial<ClientOptions> & { url: string; wire?: WireLog }) {
  const c = new RealtimeClient({
    WebSocket: tapped(wire),
    fetch: globalThis.fetch,
    dedupeKey: `node-e2e-${++keys}`,
    reconnect: FAST,
    ...options,
  })
  cleanups.push(() => c.close())
  const got: Delivered[] = []
  const resyncs: ResyncInfo[] = []
  const errors: Error[] = []
  c.on('*', (data, meta) => got.push({ seq: meta.seq, event: meta.event, data, transport: c.stats.transport }))
  c.on('resync', (info) => resyncs.push(info))
  c.on('error', (e) => errors.push(e))
  return { c, got, resyncs, errors, wire }
}

/** A numbered stream of events: `n` is unique, so a payload identifies its event. */
function counter() {
  let n = 0
  return (event: string, rt: RealtimeServer | undefined): void => {
    rt?.publish(event, { n: ++n, event })
  }
}

const LONG = { timeout: 15_000, interval: 10 }

// ---------------------------------------------------------------------------------------------
// 1. Chaos

/** Event names the publisher draws from, and whether the client's patterns take them. */
const NAMES: readonly (readonly [string, boolean])[] = [
  ['orders.created', true], // orders.*
  ['orders.shipped', true], // orders.*
  ['metrics.cpu.node1', true], // metrics.**
  ['metrics', true], // metrics.** (zero segments)
  ['alert', true], // alert
  ['orders.eu.created', false], // orders.* takes one segment only
  ['audit.login', false],
]
const PATTERNS = ['orders.*', 'metrics.**', 'alert']

interface ChaosSetup {
  label: string
  seed: number
  replayBuffer: number
  /** Events the session must have been issued, and sockets killed, before the run stops. */
  events: number
  drops: number
  /** Events the publisher issues at most (the big buffer is sized to hold all of them). */
  maxEvents: number
}

/**
 * Stream bursts of events while killing the client's socket at random moments, then wait until
 * the client caught up. A chaos step waits until the client has a socket open, waits a random
 * while (sometimes ~0, so some cuts land in the handshake or in the middle of a replay), then
 * cuts it: mostly with `dropConnections()` (`terminate()`: the TCP socket is destroyed with no
 * close handshake, the client sees 1006), sometimes with a polite close code, and waits until the
 * client saw it go.
 */
async function chaos(setup: ChaosSetup) {
  const rnd = prng(setup.seed)
  console.log(`[${setup.label}] seed=${setup.seed} (replay with CHAOS_SEED=${setup.seed})`)
  const log = ledger()
  const rt = await startServer({ replayBuffer: setup.replayBuffer, filter: log.filter })
  // No pollUrl: a run of cuts during handshakes must not send the client to polling here. The
  // backoff never resets (no connection stays up 5 s), so every outage is about maxDelay: 100 ms
  // fits 50 cuts in ~7 s.
  const h = watch({ url: rt.url, subscribe: PATTERNS, reconnect: { ...FAST, maxDelay: 100 } })
  await expect.poll(() => h.c.status, LONG).toBe('open')

  const started = performance.now()
  const publish = counter()
  let publishing = true
  // ~14 events per 10 ms tick on average, in bursts of 20-60 with quiet ticks between.
  const publisher = repeat(10, () => {
    if (!publishing) return
    const size = rnd() < 0.3 ? 20 + Math.floor(rnd() * 40) : Math.floor(rnd() * 6)
    for (let i = 0; i < size && log.issued.length < setup.maxEvents; i++) {
      publish((NAMES[Math.floor(rnd() * NAMES.length)] as readonly [string, boolean])[0], rt)
    }
  })

  let abrupt = 0
  let polite = 0
  const cut = (): void => {
    const kind = rnd()
    if (kind < 0.8) {
      rt.dropConnections()
      abrupt++
    } else {
      rt.dropConnections(kind < 0.87 ? 1001 : kind < 0.94 ? 1012 : 1000)
      polite++
    }
  }
  while (abrupt + polite < setup.drops || log.issued.length < setup.events) {
    const drops = abrupt + polite
    if (h.wire.live === 0 && rnd() < 0.1) {
      // in the handshake: as the next socket opens, before the client's `hello` has left
      h.wire.onOpen = () => {
        h.wire.onOpen = undefined
        cut()
      }
      await until(() => abrupt + polite > drops && h.wire.live === 0, 10_000, `a cut in the handshake (seed ${setup.seed})`)
      continue
    }
    // at a random moment of a live socket (sometimes at once: mid-replay)
    await until(() => h.wire.live > 0, 10_000, `a socket to cut (seed ${setup.seed})`)
    await sleep(rnd() < 0.15 ? 0 : 5 + rnd() * 100)
    if (h.wire.live === 0) continue
    cut()
    await until(() => h.wire.live === 0, 10_000, `the client to see its socket cut (seed ${setup.seed})`)
  }
  publishing = false
  publisher.stop()
  return { rt, log, h, abrupt, polite, started }
}

describe('chaos: a stream of events while the socket is cut at random moments', () => {
  it('delivers every issued event exactly once, in order, with no resync, across 50+ cuts', async () => {
    // Sizing the replay buffer. What a resume must replay is what the session was issued while
    // the client was away: rate × outage. Here the rate is ~1,000 events/s in bursts and an
    // outage is one reconnect delay (<= maxDelay, 100 ms) plus a handshake: ~100-150 events on
    // average, a few hundred at worst (`maxReplay` in the figures line shows the largest replay
    // actually seen). But a busy CI machine can stall a process's timers for far longer than
    // that, and a resync caused by an undersized buffer would be a flaky test, not a bug. So the
    // buffer is sized to the whole stream (the publisher stops at `maxEvents`): no outage, however
    // long, can outrun it, and any resync or loss here is a real defect. (The next test makes the
    // buffer small on purpose.)
    const maxEvents = 40_000
    const run = await chaos({ label: 'chaos', seed: seedFor('CHAOS_SEED', 0), replayBuffer: maxEvents, events: 5_000, drops: 50, maxEvents })
    const { rt, log, h } = run

    const session = h.wire.resumes[0]?.session
    const issued = log.of(session)
    await vi.waitFor(() => {
      expect(h.c.status).toBe('open')
      expect(h.got.length).toBeGreaterThanOrEqual(issued.length)
    }, LONG)
    const duration = (performance.now() - run.started) / 1000
    const t = tally(issued, h.got)
    const stats = h.c.stats
    const maxReplay = Math.max(0, ...h.wire.resumes.map((r) => r.replayed))
    console.log(
      `[chaos] events=${issued.length} drops=${run.abrupt + run.polite} (abrupt ${run.abrupt}, polite ${run.polite}, before welcome ${h.wire.sockets - h.wire.resumes.length}) ` +
        `lost=${t.lost} duplicated=${t.duplicated} outOfOrder=${t.outOfOrder} wrongPayload=${t.wrongPayload} ` +
        `reconnects=${stats.reconnects} replayed=${stats.replayed} maxReplay=${maxReplay} resyncs=${h.resyncs.length} ` +
        `wireDuplicatesDropped=${stats.duplicates} duration=${duration.toFixed(1)}s`,
    )

    expect(issued.length).toBeGreaterThanOrEqual(5_000)
    expect(run.abrupt + run.polite).toBeGreaterThanOrEqual(50)
    // One session throughout, and every event the publisher sent to it was issued to it.
    expect(new Set(log.issued.map((e) => e.session))).toEqual(new Set([session]))
    expect(issued.every((e) => NAMES.find(([name]) => name === e.event)?.[1] === true)).toBe(true)
    // Every cut was a real one: the client saw each socket go, abrupt cuts as 1006 (no close frame).
    expect(h.wire.closes.filter((code) => code === 1006)).toHaveLength(run.abrupt)
    expect(h.wire.closes).toHaveLength(run.abrupt + run.polite)

    expect(t).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, wrongPayload: 0, unexpected: 0 })
    expect(seqsOf(h.got)).toEqual(range(1, issued.length))
    expect(strip(h.got)).toEqual(strip(issued))
    expect(h.resyncs).toEqual([])
    expect(h.wire.replayFailed).toEqual([])
    expect(h.wire.resumes.slice(1).every((r) => r.resumed && r.session === session)).toBe(true)
    expect(stats).toMatchObject({ messages: issued.length, resyncs: 0, gaps: 0 })
    expect(stats.reconnects).toBeGreaterThan(0)
    expect(h.errors).toEqual([])
    expect(rt.stats().replayFailures).toBe(0)
  }, 45_000)

  it('with a small replay buffer, resyncs exactly the ranges the server could not replay, and nothing else', async () => {
    // 100 events (the protocol's minimum) against ~100-150 events issued per outage: some
    // resumes fit in the buffer and are replayed, others do not and must be reported.
    const replayBuffer = 100
    const run = await chaos({ label: 'chaos small buffer', seed: seedFor('CHAOS_SEED', 1), replayBuffer, events: 5_000, drops: 50, maxEvents: 40_000 })
    const { rt, log, h } = run

    const session = h.wire.resumes[0]?.session
    const issued = log.of(session)
    // The ranges the server said it could not replay, as the client must report them (the last
    // resume may still be under way: read them again until the client has caught up).
    const unreplayable = (): ResyncInfo[] =>
      h.wire.replayFailed.map(({ after, seq }) => ({ reason: 'replay_failed', from: after + 1, to: seq, missed: seq - after }))
    const missedSeqs = (): Set<number> => new Set(unreplayable().flatMap((r) => range(r.from, r.to as number)))
    await vi.waitFor(() => {
      expect(h.c.status).toBe('open')
      expect(h.got.length + missedSeqs().size).toBeGreaterThanOrEqual(issued.length)
    }, LONG)
    const expected = unreplayable()
    const missed = missedSeqs()
    const duration = (performance.now() - run.started) / 1000
    const t = tally(issued, h.got, missed)
    const stats = h.c.stats
    const resumes = h.wire.resumes.slice(1)
    const replayedResumes = resumes.filter((r) => !r.failed && r.replayed > 0).length
    console.log(
      `[chaos small buffer] events=${issued.length} drops=${run.abrupt + run.polite} (abrupt ${run.abrupt}, polite ${run.polite}, before welcome ${h.wire.sockets - h.wire.resumes.length}) ` +
        `delivered=${h.got.length} missed=${missed.size} resyncs=${h.resyncs.length} replayedResumes=${replayedResumes} ` +
        `lost=${t.lost} duplicated=${t.duplicated} outOfOrder=${t.outOfOrder} wrongPayload=${t.wrongPayload} ` +
        `reconnects=${stats.reconnects} replayed=${stats.replayed} duration=${duration.toFixed(1)}s`,
    )

    expect(issued.length).toBeGreaterThanOrEqual(5_000)
    expect(run.abrupt + run.polite).toBeGreaterThanOrEqual(50)
    // The variant tests what it claims: some outages were replayed, some could not be.
    expect(h.resyncs.length).toBeGreaterThan(0)
    expect(replayedResumes).toBeGreaterThan(0)

    // Each resync is exactly one range the server could not replay, in order, and nothing else.
    expect(h.resyncs).toEqual(expected)
    expect(stats.resyncs).toBe(h.resyncs.length)
    expect(rt.stats().replayFailures).toBe(h.resyncs.length)
    // The server refused a replay exactly when the outage was larger than its buffer.
    for (const r of resumes) {
      expect(r.resumed).toBe(true)
      const gap = r.head - (r.after ?? 0)
      if (r.failed) expect(gap).toBeGreaterThan(replayBuffer)
      else if (r.later) expect(gap).toBeLessThanOrEqual(replayBuffer)
    }
    // delivered + missed == issued: every issued seq is either delivered once, in order, or reported.
    expect(h.got.length + missed.size).toBe(issued.length)
    expect(h.got.every((g) => !missed.has(g.seq))).toBe(true)
    expect(t).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, wrongPayload: 0, unexpected: 0 })
    expect(strip(h.got)).toEqual(strip(issued.filter((e) => !missed.has(e.seq))))
    expect(h.errors).toEqual([])
  }, 45_000)
})

// ---------------------------------------------------------------------------------------------
// 2. Server restart

/** An application's HTTP server (404 for everything) on 127.0.0.1 and a free port. */
async function appServer(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.statusCode = 404
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return server
}

describe('server restart mid-stream', () => {
  it.each(['a fresh realtime server on the same HTTP server', 'a fresh server process on the same port'])(
    'reports exactly one new_session resync per handle and goes on in the new session: %s',
    async (how) => {
      const sameHttp = how.includes('HTTP server')
      const before = ledger()
      const after = ledger()
      const http = sameHttp ? await appServer() : undefined
      const where = http ? { server: http } : { port: 0 }
      let rt: RealtimeServer = createRealtimeServer({ ...where, filter: before.filter })
      cleanups.push(() => rt.close())
      await rt.ready
      const port = rt.port as number
      const url = `ws://127.0.0.1:${port}/ws/events`

      // Two handles share one connection; a third has its own.
      const sharedWire = newWireLog()
      const a1 = watch({ url, subscribe: ['tick.*'], dedupeKey: 'restart-shared', wire: sharedWire })
      const a2 = watch({ url, subscribe: ['tick.*'], dedupeKey: 'restart-shared', wire: sharedWire })
      const b = watch({ url, subscribe: ['tick.*'], dedupeKey: 'restart-solo' })
      const handles = [a1, a2, b]
      for (const h of handles) await expect.poll(() => h.c.status, LONG).toBe('open')
      expect(rt.stats()).toMatchObject({ connections: 2, sessions: 2 })

      const publish = counter()
      const stream = repeat(5, () => {
        for (let i = 0; i < 5; i++) publish(i % 2 === 0 ? 'tick.even' : 'tick.odd', rt)
      })
      await vi.waitFor(() => expect(Math.min(...handles.map((h) => h.got.length))).toBeGreaterThanOrEqual(100), LONG)

      // The restart: every socket is closed (1001) and the sessions die with the old server.
      await rt.close()
      rt = createRealtimeServer({ ...(http ? { server: http } : { port }), filter: after.filter })
      cleanups.push(() => rt.close())
      await rt.ready
      expect(rt.port).toBe(port)

      await vi.waitFor(() => {
        for (const h of handles) {
          expect(h.resyncs).toHaveLength(1)
          // each connection's new session got at least 100 events (they reconnect at different,
          // jittered times, so their sum says nothing about either)
          expect(after.of(h.wire.resumes[1]?.session).length).toBeGreaterThanOrEqual(100)
        }
      }, LONG)
      stream.stop()

      for (const h of handles) {
        // one welcome from each server: the old session, then the new one
        expect(h.wire.resumes).toHaveLength(2)
        const [first, second] = h.wire.resumes
        const old = before.of(first?.session)
        const fresh = after.of(second?.session)
        await vi.waitFor(() => expect(h.got.length).toBeGreaterThanOrEqual(old.length + fresh.length), LONG)
        expect(second?.resumed).toBe(false)
        expect(old.length).toBeGreaterThan(0)
        expect(fresh.length).toBeGreaterThanOrEqual(100)
        // exactly one resync, naming where the old session's stream ended
        expect(h.resyncs).toEqual([{ reason: 'new_session', from: old.length + 1, to: null, missed: null }])
        // what the old session issued, then what the new one issued, each once and in order
        expect(strip(h.got)).toEqual(strip([...old, ...fresh]))
        expect(seqsOf(h.got)).toEqual([...range(1, old.length), ...range(1, fresh.length)])
        expect(h.c.status).toBe('open')
        expect(h.c.stats).toMatchObject({ resyncs: 1, duplicates: 0, transport: 'websocket' })
      }
      // The two shared handles saw the same sessions; the solo one had sessions of its own.
      expect(a1.wire.resumes.map((r) => r.session)).toEqual(a2.wire.resumes.map((r) => r.session))
      expect(b.wire.resumes[0]?.session).not.toBe(a1.wire.resumes[0]?.session)
      expect(rt.stats()).toMatchObject({ connections: 2, sessions: 2 })
      console.log(
        `[restart: ${how}] old session events=${before.issued.length} new session events=${after.issued.length} ` +
          `resyncs per handle=${handles.map((h) => h.resyncs.length).join('/')} reconnects=${handles.map((h) => h.c.stats.reconnects).join('/')}`,
      )
    },
    20_000,
  )
})

// ---------------------------------------------------------------------------------------------
// 3. Half-open link

describe('half-open link', () => {
  it('finds a silent link within heartbeat.interval + heartbeat.timeout, reconnects and loses nothing', async () => {
    const heartbeat = { interval: 300, timeout: 200 }
    const margin = 250
    const log = ledger()
    // The link is silent for up to interval + timeout (+ a reconnect delay): ~0.75 s at ~200
    // events/s is ~150 events to replay, more than the default buffer of 100.
    const rt = await startServer({ filter: log.filter, replayBuffer: 2_000 })
    const h = watch({ url: rt.url, subscribe: ['feed.*'], heartbeat })
    await expect.poll(() => h.c.status, LONG).toBe('open')

    const publish = counter()
    const stream = repeat(10, () => {
      publish('feed.item', rt)
      publish('feed.other', rt)
    })
    await vi.waitFor(() => expect(h.got.length).toBeGreaterThanOrEqual(50), LONG)

    // The server keeps the socket but stops sending; events go on being issued (and buffered).
    // It goes silent right as a `pong` arrives: the worst moment, since the client's next ping is
    // then a whole interval away, and the link is only found dead `timeout` after that.
    let silentAt: number | undefined
    let detectedAt: number | undefined
    h.wire.onFrame = (type) => {
      if (type !== 'pong' || silentAt !== undefined) return
      silentAt = performance.now()
      rt.setSilent(true)
    }
    const offStatus = h.c.on('status', (s) => {
      if (s !== 'reconnecting' || detectedAt !== undefined) return
      detectedAt = performance.now()
      // The dead link was that socket: new ones are answered again.
      rt.setSilent(false)
    })
    cleanups.push(offStatus)
    await vi.waitFor(() => expect(detectedAt).toBeDefined(), LONG)
    await expect.poll(() => h.c.status, LONG).toBe('open')
    const reopenedAt = performance.now()
    const detection = (detectedAt as number) - (silentAt as number)
    const bound = heartbeat.interval + heartbeat.timeout + margin
    console.log(
      `[half-open] detected after ${detection.toFixed(0)} ms (bound ${heartbeat.interval} + ${heartbeat.timeout} + ${margin} = ${bound} ms), ` +
        `open again after ${(reopenedAt - (silentAt as number)).toFixed(0)} ms`,
    )
    expect(detection).toBeLessThanOrEqual(bound)
    expect(detection).toBeGreaterThanOrEqual(heartbeat.timeout)

    const mark = log.issued.length
    await vi.waitFor(() => expect(log.issued.length).toBeGreaterThan(mark + 50), LONG)
    stream.stop()
    const issued = log.issued
    await vi.waitFor(() => expect(h.got.length).toBeGreaterThanOrEqual(issued.length), LONG)
    expect(new Set(issued.map((e) => e.session)).size).toBe(1)
    expect(strip(h.got)).toEqual(strip(issued))
    expect(seqsOf(h.got)).toEqual(range(1, issued.length))
    expect(h.resyncs).toEqual([])
    // The client gave up the link itself (4000), not because the server closed it.
    expect(h.wire.closes).toEqual([4000])
    expect(h.c.stats).toMatchObject({ reconnects: 1, resyncs: 0, transport: 'websocket' })
    expect(h.c.stats.replayed).toBeGreaterThan(0)
  }, 20_000)
})

// ---------------------------------------------------------------------------------------------
// 4. WebSocket refused: polling, and back

describe('upgrade refused: polling, then back to WebSocket', () => {
  it.each([
    ['plain polling', 0],
    ['long polling', 2_000],
  ] as const)('%s: falls back after maxAttempts, moves back after upgradeInterval, delivers exactly 1..N', async (_name, wait) => {
    const maxAttempts = 3
    const upgradeInterval = 300
    const margin = 700
    const log = ledger()
    const rt = await startServer({ filter: log.filter })
    const gets: URL[] = []
    const h = watch({
      url: rt.url,
      pollUrl: rt.pollUrl,
      fetch: (input, init) => {
        if (init?.method === 'GET') gets.push(new URL(String(input)))
        return fetch(input, init)
      },
      subscribe: ['jobs.**'],
      reconnect: { ...FAST, maxAttempts },
      polling: { interval: 50, wait, upgradeInterval },
    })
    await expect.poll(() => h.c.status, LONG).toBe('open')
    const publish = counter()
    const stream = repeat(10, () => {
      publish('jobs.42.log', rt)
      publish('jobs.42', rt)
      publish('jobs', rt)
    })
    await vi.waitFor(() => expect(h.got.length).toBeGreaterThanOrEqual(30), LONG)

    let socketsAtFallback: number | undefined
    const offStatus = h.c.on('status', (s) => {
      if (s === 'polling') socketsAtFallback ??= h.wire.sockets
    })
    cleanups.push(offStatus)
    rt.refuseWebSocket(true)
    rt.dropConnections()
    await expect.poll(() => h.c.status, LONG).toBe('polling')
    await expect.poll(() => h.c.stats.transport, LONG).toBe('polling')
    // It fell back after exactly maxAttempts refused upgrades (503, a failed socket for the
    // client), counted from the cut of the socket that had worked.
    expect(socketsAtFallback).toBe(1 + maxAttempts)
    expect(h.wire.closes.slice(0, 1 + maxAttempts)).toEqual(Array<number>(1 + maxAttempts).fill(1006))
    const polled = (): number => h.got.filter((g) => g.transport === 'polling').length
    await vi.waitFor(() => expect(polled()).toBeGreaterThanOrEqual(50), LONG)
    // Each poll asked for the configured wait, and the server held the long ones.
    expect(gets.length).toBeGreaterThan(0)
    expect(gets.every((u) => Number(u.searchParams.get('wait') ?? 0) === wait)).toBe(true)
    if (wait > 0) await expect.poll(() => rt.stats().heldPolls, LONG).toBe(1)
    expect(h.c.status).toBe('polling')

    const allowedAt = performance.now()
    rt.refuseWebSocket(false)
    await expect.poll(() => h.c.status, LONG).toBe('open')
    const backAfter = performance.now() - allowedAt
    expect(backAfter).toBeLessThanOrEqual(upgradeInterval + margin)
    expect(h.c.stats.transport).toBe('websocket')
    const mark = h.got.length
    await vi.waitFor(() => expect(h.got.length).toBeGreaterThanOrEqual(mark + 30), LONG)

    stream.stop()
    const issued = log.issued
    await vi.waitFor(() => expect(h.got.length).toBeGreaterThanOrEqual(issued.length), LONG)
    expect(new Set(issued.map((e) => e.session)).size).toBe(1)
    expect(seqsOf(h.got)).toEqual(range(1, issued.length))
    expect(strip(h.got)).toEqual(strip(issued))
    expect(h.resyncs).toEqual([])
    // websocket, then polling, then websocket again: each event over exactly one of them
    const transports = h.got.map((g) => g.transport).filter((t, i, all) => i === 0 || t !== all[i - 1])
    expect(transports).toEqual(['websocket', 'polling', 'websocket'])
    const s = rt.stats()
    console.log(
      `[polling, wait=${wait}] events=${issued.length} overPolling=${polled()} polls=${s.polls} ` +
        `back on WebSocket after ${backAfter.toFixed(0)} ms (upgradeInterval ${upgradeInterval}) wireDuplicatesDropped=${h.c.stats.duplicates}`,
    )
  }, 20_000)
})

// ---------------------------------------------------------------------------------------------
// 5. Deduplication

describe('deduplication', () => {
  it('10 handles on one url share one server socket; it closes with the last handle', async () => {
    const log = ledger()
    const rt = await startServer({ filter: log.filter })
    // Same url, default dedupeKey: one connection.
    const wire = newWireLog()
    const handles = Array.from({ length: 10 }, () => watch({ url: rt.url, dedupeKey: '', wire, subscribe: ['room.*'] }))
    for (const h of handles) await expect.poll(() => h.c.status, LONG).toBe('open')
    expect(rt.stats()).toMatchObject({ connections: 1, sessions: 1 })
    expect(wire.sockets).toBe(1)

    const publish = counter()
    for (let i = 0; i < 20; i++) publish(i % 2 ? 'room.a' : 'room.b', rt)
    for (const h of handles) await vi.waitFor(() => expect(h.got.length).toBe(20), LONG)
    for (const h of handles) expect(strip(h.got)).toEqual(strip(log.issued))

    const last = handles[9] as (typeof handles)[number]
    for (const h of handles.slice(0, 9)) h.c.close()
    for (const h of handles.slice(0, 9)) expect(h.c.status).toBe('closed')
    for (let i = 0; i < 5; i++) publish('room.c', rt)
    await vi.waitFor(() => expect(last.got.length).toBe(25), LONG)
    expect(strip(last.got)).toEqual(strip(log.issued))
    expect(last.c.status).toBe('open')
    expect(rt.stats()).toMatchObject({ connections: 1, sessions: 1 })
    expect(wire.sockets).toBe(1)
    expect(wire.closes).toEqual([])
    for (const h of handles.slice(0, 9)) expect(h.got).toHaveLength(20)

    last.c.close()
    await expect.poll(() => rt.stats().connections, LONG).toBe(0)
    expect(wire.closes).toEqual([1000])
  })
})
