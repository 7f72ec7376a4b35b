/**
 * Soak under network faults: the real client (`RealtimeClient`) against the reference server
 * (`wirefeed/server`), through a fault-injecting TCP proxy (faults/proxy.ts) on 127.0.0.1, with
 * real timers. While the server publishes continuously, the proxy resets links (live, or as the
 * next one opens, receives `hello` or passes `welcome`), stalls them (half-open: nothing crosses
 * until the client's heartbeat gives up), adds latency, and swallows `event` frames so the client
 * sees seq gaps and must ask for a replay. Three deduplicated groups of handles (1, 2 and 3 handles
 * on one connection each, with different patterns) go through it at once.
 *
 * The ground truth is the server's own record of what it issued to each session (a `filter` hook
 * that lets everything through); what the client was told (`welcome`, `replay_failed`) is recorded
 * on the client's side of the proxy (wire.ts). Every random choice (burst sizes, event
 * names, which fault, when, on which link) comes from a seeded PRNG; the seed is printed, and
 * `FAULTS_SEED=<n>` replays the same choices (the timing of real sockets is not reproducible; the
 * schedule of faults is).
 *
 * Sizes: `npm test` runs at least 20,000 published events and 100 faults per run. `npm run
 * test:soak` (test/soak.config.ts, which sets `WIREFEED_SOAK=1`; `.ci/run` runs it too) runs the
 * same tests five times larger.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RealtimeClient, type ClientOptions, type ResyncInfo } from '../../src/index.js'
import { startServer, until } from '../server/helpers.js'
import { FAULT_KINDS, FaultInjector, type InjectorOptions } from './faults/injector.js'
import { FaultProxy } from './faults/proxy.js'
import { every, ledger, prng, range, seedFor, strip, tally, type Delivered, type Issued } from './ledger.js'
import { newWireLog, tapped, type WireLog } from './wire.js'

// ---------------------------------------------------------------------------------------------
// Harness

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Run `tick` every `ms` until stopped, or after the test at the latest. */
const repeat = (ms: number, tick: () => void): { stop(): void } => every(ms, tick, cleanups)

const SOAK = process.env.WIREFEED_SOAK === '1'
/** How much larger a soak run is than the run in `npm test`. */
const SCALE = SOAK ? 5 : 1

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))



/** Event names the publisher draws from; the last two match no handle's pattern. */
const NAMES = ['orders.created', 'orders.shipped', 'metrics.cpu.node1', 'metrics', 'alert', 'orders.eu.created', 'audit.login'] as const

/**
 * Three connections: 1, 2 and 3 deduplicated handles, each handle with patterns of its own. The
 * connection subscribes to their union, and every handle hears every event of its connection
 * (events are not filtered per handle: README, Deduplication).
 */
const GROUPS: readonly { name: string; handles: readonly (readonly string[])[] }[] = [
  { name: 'solo', handles: [['orders.*', 'metrics.**', 'alert']] },
  { name: 'pair', handles: [['orders.*'], ['metrics.**', 'alert']] },
  { name: 'trio', handles: [['orders.*', 'alert'], ['orders.*', 'alert'], ['metrics.**']] },
]

/**
 * Client timings for loopback: a stalled link is found within interval + timeout (~0.5 s), and a
 * connection that never stays up 5 s keeps its backoff at maxDelay (100 ms) per outage.
 */
const CLIENT: Partial<ClientOptions> = {
  reconnect: { minDelay: 20, maxDelay: 100, factor: 2, jitter: 0.2, connectTimeout: 3_000 },
  heartbeat: { interval: 250, timeout: 250 },
}

/**
 * The mix of faults. Added latency stays well below the heartbeat timeout, so a slow link is not
 * taken for a dead one; a stall the client has not given up on after 5 s is torn down anyway
 * (and reported: every stall must end with the client's 4000).
 */
const FAULTS: InjectorOptions = {
  weights: { reset: 0.3, stall: 0.15, latency: 0.2, drop: 0.35 },
  early: 0.25,
  latency: { min: 10, max: 80 },
  window: { min: 100, max: 800 },
  stallCap: 5_000,
}

interface Handle {
  c: RealtimeClient
  patterns: readonly string[]
  got: Delivered[]
  resyncs: ResyncInfo[]
  /** `got.length` when each resync was reported. */
  resyncAt: number[]
  errors: Error[]
}

interface Group {
  name: string
  wire: WireLog
  handles: Handle[]
}

let keys = 0

/** A group of handles sharing one connection through `url`, with everything they emit recorded. */
function group(name: string, url: string, patterns: readonly (readonly string[])[]): Group {
  const wire = newWireLog()
  const WebSocket = tapped(wire)
  const dedupeKey = `faults-${name}-${++keys}`
  const handles = patterns.map((subscribe): Handle => {
    const c = new RealtimeClient({ ...CLIENT, url, subscribe, dedupeKey, WebSocket })
    cleanups.push(() => c.close())
    const h: Handle = { c, patterns: subscribe, got: [], resyncs: [], resyncAt: [], errors: [] }
    c.on('*', (data, meta) => h.got.push({ seq: meta.seq, event: meta.event, data }))
    c.on('resync', (info) => {
      h.resyncs.push(info)
      h.resyncAt.push(h.got.length)
    })
    c.on('error', (e) => h.errors.push(e))
    return h
  })
  return { name, wire, handles }
}

/** Every seq some handle of `g` delivered (each should have delivered them all). */
const deliveredSeqs = (g: Group): Set<number> => new Set(g.handles.flatMap((h) => h.got.map((e) => e.seq)))

/**
 * The resyncs `g` must report for the `replay_failed`s it received: for each, the seqs in
 * (after, seq] the client never got, which it gives up, as one range. Those seqs are the missed ones.
 */
function expectedResyncs(g: Group): { resyncs: ResyncInfo[]; missed: Set<number> } {
  const delivered = deliveredSeqs(g)
  const missed = new Set<number>()
  const resyncs: ResyncInfo[] = []
  for (const { after, seq } of g.wire.replayFailed) {
    const gone = range(after + 1, seq).filter((s) => !delivered.has(s) && !missed.has(s))
    if (gone.length === 0) continue
    for (const s of gone) missed.add(s)
    resyncs.push({ reason: 'replay_failed', from: gone[0] as number, to: gone[gone.length - 1] as number, missed: gone.length })
  }
  return { resyncs, missed }
}

interface SoakSetup {
  label: string
  seed: number
  replayBuffer: number
  /** Events the publisher must have published, and faults the proxy must have applied (each kind at least `perKind`). */
  events: number
  faults: number
  perKind: number
  /** Called once half the events are out (the session-restart test forgets the sessions there). */
  midway?: (rt: Awaited<ReturnType<typeof startServer>>) => void
}

/**
 * Publish continuously through the proxy while the injector breaks links, until both the events
 * and the faults asked for are done; then let the faults under way end, make sure no dropped event
 * is still waiting for its replay (a drop at the very end would leave the client no later event to
 * see the gap by), stop publishing and wait until every handle has caught up.
 */
async function soak(setup: SoakSetup) {
  const rnd = prng(setup.seed)
  console.log(`[${setup.label}] seed=${setup.seed} (replay with FAULTS_SEED=${setup.seed})`)
  const log = ledger()
  const rt = await startServer({ replayBuffer: setup.replayBuffer, filter: log.filter })
  const proxy = await FaultProxy.start({ port: rt.port as number })
  cleanups.push(() => proxy.close())
  const url = proxy.via(rt.url as string)
  const groups = GROUPS.map((g) => group(g.name, url, g.handles))
  const handles = groups.flatMap((g) => g.handles)
  await until(() => handles.every((h) => h.c.status === 'open'), 10_000, `every handle open (seed ${setup.seed})`)

  const started = performance.now()
  let published = 0
  let midway = setup.midway
  // ~1,000 events per second: bursts of 15-45 on 30% of the 10 ms ticks, 0-2 on the others
  const publisher = repeat(10, () => {
    const size = rnd() < 0.3 ? 15 + Math.floor(rnd() * 30) : Math.floor(rnd() * 3)
    for (let i = 0; i < size; i++) {
      const event = NAMES[Math.floor(rnd() * NAMES.length)] as string
      rt.publish(event, { n: ++published, event })
    }
    if (midway && published >= setup.events / 2) {
      midway(rt)
      midway = undefined
    }
  })

  const injector = new FaultInjector(proxy, rnd, FAULTS)
  const budget = 120_000 * SCALE
  while (published < setup.events || injector.total < setup.faults || injector.fewest < setup.perKind) {
    if (performance.now() - started > budget) {
      throw new Error(`[${setup.label}] not done after ${budget} ms: published=${published} faults=${JSON.stringify(injector.counts)} (seed ${setup.seed})`)
    }
    await sleep(10 + rnd() * 60)
    injector.step()
  }
  await injector.settle(15_000)
  await until(() => proxy.live().every((l) => l.outstanding === 0), 15_000, `the last dropped events to be replayed (seed ${setup.seed})`)
  publisher.stop()
  return { rt, log, proxy, groups, handles, injector, published, started }
}

/** Sum of a connection-level counter over the groups (the handles of a group share their stats). */
const sumStats = (groups: Group[], key: 'reconnects' | 'replayed' | 'gaps' | 'duplicates' | 'resyncs'): number =>
  groups.reduce((sum, g) => sum + (g.handles[0] as Handle).c.stats[key], 0)

function figures(label: string, run: Awaited<ReturnType<typeof soak>>, extra: Record<string, number | string>) {
  const { injector, groups, handles } = run
  const detected = injector.stalls.map((s) => s.ms)
  return (
    `[${label}] events=${run.published} issued=${run.log.total} delivered=${handles.reduce((n, h) => n + h.got.length, 0)} ` +
    `faults=${injector.total} (reset ${injector.counts.reset} [early: accept ${injector.early.accept}, hello ${injector.early.hello}, welcome ${injector.early.welcome}], ` +
    `stall ${injector.counts.stall}, latency ${injector.counts.latency}, drop ${injector.counts.drop}) ` +
    `stallDetectedMs=max ${Math.round(Math.max(0, ...detected))} connectionsThroughProxy=${run.proxy.accepted} ` +
    Object.entries(extra)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') +
    ` reconnects=${sumStats(groups, 'reconnects')} replayed=${sumStats(groups, 'replayed')} gaps=${sumStats(groups, 'gaps')} ` +
    `replayRequests=${groups.reduce((n, g) => n + g.wire.replays.length, 0)} wireDuplicatesDropped=${sumStats(groups, 'duplicates')} ` +
    `wall=${((performance.now() - run.started) / 1000).toFixed(1)}s`
  )
}

/**
 * What every run must show of its faults: the counts asked for, and each stall found by the
 * client's heartbeat. `restarted`: the server closed every socket (1012) during the run; a stall
 * that began as that close frame was already past the proxy ends with the client's echo of it.
 */
function expectFaults(run: Awaited<ReturnType<typeof soak>>, setup: Pick<SoakSetup, 'events' | 'faults' | 'perKind'>, restarted = false): void {
  const { injector } = run
  expect(run.published).toBeGreaterThanOrEqual(setup.events)
  expect(injector.total).toBeGreaterThanOrEqual(setup.faults)
  for (const kind of FAULT_KINDS) expect(injector.counts[kind], kind).toBeGreaterThanOrEqual(setup.perKind)
  // A stall ends only when the client gives up the link (4000: dead link), never by the cap.
  const codes = injector.stalls.map((s) => s.code)
  expect(codes).toEqual(codes.map((code) => (restarted && code === 1012 ? 1012 : 4000)))
  if (restarted) expect(codes.filter((code) => code === 1012).length).toBeLessThanOrEqual(run.groups.length)
  // Dropped events made the client ask for replays (each one did, unless its link was cut first).
  expect(run.groups.reduce((n, g) => n + g.wire.replays.length, 0)).toBeGreaterThan(0)
}

const LONG = { timeout: 30_000, interval: 20 }

// ---------------------------------------------------------------------------------------------
// 1. Soak: every event exactly once and in order, or an explicit resync

describe('soak through a faulty network: resets, half-open stalls, latency and dropped frames', () => {
  const events = 20_000 * SCALE
  const faults = 100 * SCALE
  const perKind = 15 * SCALE

  it(
    'delivers every issued event to every handle exactly once, in order, with no resync',
    async () => {
      // The replay buffer holds the whole stream: no outage, however long a busy machine makes
      // it, can outrun it, so any resync or loss here is a defect (the next test makes it small).
      const seed = seedFor('FAULTS_SEED', 0)
      const setup = { label: 'faults', seed, replayBuffer: 100_000 * SCALE, events, faults, perKind }
      const run = await soak(setup)
      const { log, groups, handles } = run
      const sessionOf = (g: Group): string | undefined => g.wire.resumes[0]?.session
      await vi.waitFor(() => {
        for (const g of groups) {
          for (const h of g.handles) {
            expect(h.c.status).toBe('open')
            expect(h.got.length).toBeGreaterThanOrEqual(log.of(sessionOf(g)).length)
          }
        }
      }, LONG)

      const t = handles.map((h) => {
        const g = groups.find((x) => x.handles.includes(h)) as Group
        return tally(log.of(sessionOf(g)), h.got)
      })
      const sum = (k: keyof (typeof t)[number]): number => t.reduce((n, x) => n + x[k], 0)
      console.log(
        figures('faults', run, {
          lost: sum('lost'),
          duplicated: sum('duplicated'),
          reordered: sum('outOfOrder'),
          resyncs: `${sumStats(groups, 'resyncs')} (as heard by all handles: ${handles.reduce((n, h) => n + h.resyncs.length, 0)})`,
        }),
      )

      expectFaults(run, setup)
      for (const g of groups) {
        const session = sessionOf(g)
        const issued = log.of(session)
        // one session per connection throughout, resumed on every reconnect, never failed
        expect(g.wire.resumes.every((r, i) => r.session === session && r.resumed === i > 0), `${g.name} (seed ${seed})`).toBe(true)
        expect(g.wire.replayFailed, `${g.name} (seed ${seed})`).toEqual([])
        for (const h of g.handles) {
          expect(tally(issued, h.got), `${g.name} ${h.patterns.join(',')} (seed ${seed})`).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, wrongPayload: 0, unexpected: 0 })
          expect(strip(h.got)).toEqual(strip(issued))
          expect(h.resyncs).toEqual([])
          expect(h.errors).toEqual([])
        }
        expect((g.handles[0] as Handle).c.stats).toMatchObject({ resyncs: 0, transport: 'websocket' })
        // the faults reached this connection: it reconnected and filled holes
        expect((g.handles[0] as Handle).c.stats.reconnects).toBeGreaterThan(0)
      }
      expect(sumStats(groups, 'replayed')).toBeGreaterThan(0)
      expect(run.rt.stats().replayFailures).toBe(0)
    },
    240_000 * SCALE,
  )

  it(
    'with a small replay buffer, resyncs exactly the ranges the server could no longer replay, and nothing else',
    async () => {
      // 200 events against ~800 issued per second and session: a reset (an outage of a backoff
      // step, <= 100 ms) or a dropped frame fits in the buffer; a stall (~0.5 s until the
      // heartbeat gives up) mostly does not.
      const replayBuffer = 200
      const seed = seedFor('FAULTS_SEED', 1)
      const setup = { label: 'faults small buffer', seed, replayBuffer, events, faults, perKind }
      const run = await soak(setup)
      const { log, groups, handles } = run
      const sessionOf = (g: Group): string | undefined => g.wire.resumes[0]?.session
      // caught up: every issued seq delivered or given up, as the replay_failed frames said
      await vi.waitFor(() => {
        for (const g of groups) {
          for (const h of g.handles) expect(h.c.status).toBe('open')
          const covered = new Set([...deliveredSeqs(g), ...expectedResyncs(g).missed])
          expect(log.of(sessionOf(g)).every((e) => covered.has(e.seq))).toBe(true)
        }
      }, LONG)

      const per = groups.map((g) => ({ g, ...expectedResyncs(g) }))
      const t = per.flatMap(({ g, missed }) => g.handles.map((h) => tally(log.of(sessionOf(g)).filter((e) => !missed.has(e.seq)), h.got)))
      const sum = (k: keyof (typeof t)[number]): number => t.reduce((n, x) => n + x[k], 0)
      const failed = groups.reduce((n, g) => n + g.wire.replayFailed.length, 0)
      const replayedResumes = groups.reduce((n, g) => n + g.wire.resumes.filter((r) => !r.failed && r.replayed > 0).length, 0)
      console.log(
        figures('faults small buffer', run, {
          lost: sum('lost'),
          duplicated: sum('duplicated'),
          reordered: sum('outOfOrder'),
          resyncs: `${sumStats(groups, 'resyncs')} (as heard by all handles: ${handles.reduce((n, h) => n + h.resyncs.length, 0)})`,
          replayFailed: failed,
          missed: per.reduce((n, p) => n + p.missed.size, 0),
          replayedResumes,
        }),
      )

      expectFaults(run, setup)
      // The variant tests what it claims: some outages were replayed, some could not be.
      expect(failed).toBeGreaterThan(0)
      expect(replayedResumes).toBeGreaterThan(0)
      for (const { g, resyncs, missed } of per) {
        const session = sessionOf(g)
        const issued = log.of(session)
        expect(g.wire.resumes.every((r, i) => r.session === session && r.resumed === i > 0), `${g.name} (seed ${seed})`).toBe(true)
        // The server refused a replay only when what was asked for had left its buffer: a ring of
        // `replayBuffer` entries ending at the head (`seq`) no longer reaches back to `after + 1`.
        for (const rf of g.wire.replayFailed) expect(rf.seq - rf.after, `${g.name} ${JSON.stringify(rf)} (seed ${seed})`).toBeGreaterThan(replayBuffer)
        for (const h of g.handles) {
          // Each resync is exactly one range the server could not replay, in order, and nothing else.
          expect(h.resyncs, `${g.name} ${h.patterns.join(',')} (seed ${seed})`).toEqual(resyncs)
          // delivered + missed == issued: every issued seq delivered once, in order, or reported
          const want = issued.filter((e) => !missed.has(e.seq))
          expect(tally(want, h.got), `${g.name} ${h.patterns.join(',')} (seed ${seed})`).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, wrongPayload: 0, unexpected: 0 })
          expect(strip(h.got)).toEqual(strip(want))
          expect(h.errors).toEqual([])
        }
        expect((g.handles[0] as Handle).c.stats.resyncs).toBe(resyncs.length)
      }
      // The server may have sent a replay_failed that a cut kept from the client; never fewer.
      expect(run.rt.stats().replayFailures).toBeGreaterThanOrEqual(failed)
    },
    240_000 * SCALE,
  )
})

// ---------------------------------------------------------------------------------------------
// 2. Sessions forgotten mid-stream, under the same faults

describe('sessions forgotten mid-stream (a restart that loses every session), through the faulty network', () => {
  it('reports exactly one new_session resync per handle, then delivers the new session exactly once, in order', async () => {
    const seed = seedFor('FAULTS_SEED', 2)
    const setup = { label: 'faults forget', seed, replayBuffer: 100_000 * SCALE, events: 6_000 * SCALE, faults: 40 * SCALE, perKind: 5 * SCALE }
    let forgottenAt: number | undefined
    const run = await soak({
      ...setup,
      midway: (rt) => {
        forgottenAt = rt.stats().published
        rt.forgetSessions()
      },
    })
    const { log, groups, handles } = run
    /** The sessions each connection had, in the order it had them. */
    const sessions = (g: Group): string[] => [...new Set(g.wire.resumes.map((r) => r.session))]
    await vi.waitFor(() => {
      for (const g of groups) {
        expect(sessions(g)).toHaveLength(2)
        const fresh = log.of(sessions(g)[1])
        for (const h of g.handles) {
          expect(h.c.status).toBe('open')
          expect(h.resyncs).toHaveLength(1)
          expect(h.got.length - (h.resyncAt[0] as number)).toBeGreaterThanOrEqual(fresh.length)
        }
      }
    }, LONG)

    let lostToRestart = 0
    for (const g of groups) {
      const [old, fresh] = sessions(g).map((s) => log.of(s)) as [Issued[], Issued[]]
      // exactly one welcome started a session after the first: the one after the restart
      expect(g.wire.resumes.filter((r) => !r.resumed)).toHaveLength(2)
      const from = (g.handles[0] as Handle).resyncs[0]?.from as number
      lostToRestart += old.filter((e) => e.seq >= from).length
      for (const h of g.handles) {
        // one resync, the same for every handle of the connection, naming where the old stream stopped
        expect(h.resyncs, `${g.name} (seed ${seed})`).toEqual([{ reason: 'new_session', from, to: null, missed: null }])
        const at = h.resyncAt[0] as number
        // before it: the old session's events up to `from`, each once, in order (nothing below `from` lost)
        expect(strip(h.got.slice(0, at)), `${g.name} ${h.patterns.join(',')} (seed ${seed})`).toEqual(strip(old.filter((e) => e.seq < from)))
        // after it: the new session's, from its first seq, each once, in order
        expect(strip(h.got.slice(at)), `${g.name} ${h.patterns.join(',')} (seed ${seed})`).toEqual(strip(fresh))
        expect(h.errors).toEqual([])
      }
      expect(fresh.length).toBeGreaterThan(0)
      expect((g.handles[0] as Handle).c.stats).toMatchObject({ resyncs: 1, transport: 'websocket' })
    }
    console.log(
      figures('faults forget', run, {
        forgottenAtPublished: forgottenAt ?? -1,
        resyncsPerHandle: handles.map((h) => h.resyncs.length).join('/'),
        oldEventsGivenUp: lostToRestart,
      }),
    )
    expectFaults(run, setup, true)
  }, 120_000 * SCALE)
})
