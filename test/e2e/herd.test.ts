/**
 * Thundering herd: 1,000 handles in 200 deduplicated groups (5 handles per `url`) against the real
 * reference server, which is stopped (every socket cut, the port closed) and started again on the
 * same port once every group has climbed its backoff schedule to the cap.
 *
 * Two vantage points, both on real sockets over 127.0.0.1:
 * - the server's: an `upgrade` listener on the HTTP server records, for each group (from the
 *   `group` query parameter), when each socket arrives and how many of that group's sockets are
 *   open at once;
 * - the client's: a tapped `WebSocket` constructor records when each attempt starts and when it
 *   fails, so every delay the client waited between attempts is measured, and each handle records
 *   its status changes and resyncs.
 *
 * The client draws its jitter from `Math.random` (not injectable through the public API), so the
 * distribution checks below are statistical, with bounds many standard deviations wide; the spread
 * figures are printed. The delays the client planned are read from its debug log (the `logger`
 * option: "next attempt in N ms"), so the window and cap checks on them are exact; the delays it
 * actually waited are measured, and may only be longer than planned by what the process's event
 * loop was measured to lag (a loaded CI machine stalls timers), plus a small margin.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { backoffDelay, RealtimeClient, type ResyncInfo, type Status, type WebSocketConstructor } from '../../src/index.js'
import { createRealtimeServer, type RealtimeServer } from '../../src/server/index.js'
import { until } from '../server/helpers.js'

const GROUPS = 200
const HANDLES_PER_GROUP = 5
/** Small backoff settings so the whole run takes a few seconds. */
const RECONNECT = { minDelay: 100, maxDelay: 800, factor: 2, jitter: 0.5 } as const
/** Refused attempts every group must have made before the server comes back (attempt 3 is the first at the cap). */
const REFUSED_BEFORE_RESTART = 6
/** How much later than planned an attempt may start, on top of the event loop's measured lag: the socket's own set-up. */
const MARGIN = 50

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

const groupOf = (url: string | undefined): number => Number(new URL(url ?? '/', 'ws://x').searchParams.get('group'))

// ---------------------------------------------------------------------------------------------
// The server's side

/** What the server saw of one group's sockets. */
interface ServerGroup {
  /** When each socket arrived (`performance.now()`). */
  arrivals: number[]
  open: number
  maxOpen: number
}

/** The reference server on its own HTTP server, with an upgrade listener that watches every group. */
class WatchedServer {
  readonly groups: ServerGroup[] = Array.from({ length: GROUPS }, () => ({ arrivals: [], open: 0, maxOpen: 0 }))
  #http: Server | undefined
  #rt: RealtimeServer | undefined

  get rt(): RealtimeServer {
    if (!this.#rt) throw new Error('the server is stopped')
    return this.#rt
  }

  /** Listen on `port` (0: a free one); resolves with the port once the server listens. */
  async start(port: number): Promise<number> {
    const http = createServer()
    // Added before the realtime server's own listener: it sees each upgrade first.
    http.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      const g = this.groups[groupOf(req.url)]
      if (!g) throw new Error(`upgrade for an unknown group: ${req.url}`)
      g.arrivals.push(performance.now())
      g.open++
      g.maxOpen = Math.max(g.maxOpen, g.open)
      socket.once('close', () => g.open--)
    })
    this.#rt = createRealtimeServer({ server: http })
    this.#http = http
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(port, '127.0.0.1', () => {
        http.off('error', reject)
        resolve()
      })
    })
    const address = http.address()
    if (address === null || typeof address !== 'object') throw new Error('the server has no address')
    return address.port
  }

  /** As a crash would: stop accepting, cut every socket (the clients see 1006), forget every session. */
  async stop(): Promise<void> {
    const http = this.#http
    const rt = this.#rt
    this.#http = this.#rt = undefined
    if (!http || !rt) return
    const closed = new Promise<void>((resolve) => http.close(() => resolve()))
    rt.dropConnections()
    await rt.close()
    http.closeAllConnections()
    await closed
  }
}

// ---------------------------------------------------------------------------------------------
// The client's side

/** One WebSocket attempt as the client's side saw it. */
interface Attempt {
  startedAt: number
  opened: boolean
  /** The first `error` or `close` event (the client reacts to whichever comes first). */
  endedAt: number | undefined
}

/** Node's WebSocket, recording each group's attempts. */
function tapped(attempts: Attempt[][], live: number[], maxLive: number[]): WebSocketConstructor {
  return class TappedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      const group = groupOf(String(url))
      const attempt: Attempt = { startedAt: performance.now(), opened: false, endedAt: undefined }
      attempts[group]?.push(attempt)
      const ended = (): void => {
        if (attempt.endedAt !== undefined) return
        attempt.endedAt = performance.now()
        if (attempt.opened) live[group] = (live[group] ?? 0) - 1
      }
      this.addEventListener('open', () => {
        attempt.opened = true
        live[group] = (live[group] ?? 0) + 1
        maxLive[group] = Math.max(maxLive[group] ?? 0, live[group] ?? 0)
      })
      this.addEventListener('error', ended)
      this.addEventListener('close', ended)
    }
  }
}

interface Handle {
  group: number
  client: RealtimeClient
  statuses: Status[]
  resyncs: ResyncInfo[]
}

// ---------------------------------------------------------------------------------------------
// Figures

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))
  return sorted[i] as number
}

const summary = (values: readonly number[]): { min: number; median: number; max: number } => {
  const sorted = [...values].sort((a, b) => a - b)
  return { min: quantile(sorted, 0), median: quantile(sorted, 0.5), max: quantile(sorted, 1) }
}

const ms = (n: number): string => `${n.toFixed(0)} ms`

/** The most values that fall within any window of `width` (a sliding window over the sorted values). */
function peak(values: readonly number[], width: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= width) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/** The window `backoffDelay` draws the delay of retry `attempt` from: [its lowest, its highest]. */
const windowOf = (attempt: number): [number, number] => [backoffDelay(attempt, RECONNECT, () => 0), backoffDelay(attempt, RECONNECT, () => 1)]

// ---------------------------------------------------------------------------------------------

describe('thundering herd: 1,000 handles in 200 groups across a server restart', () => {
  it('one socket per group at a time, every delay within its jitter window and the cap, arrivals spread by the jitter', async () => {
    const server = new WatchedServer()
    cleanups.push(() => server.stop())
    const port = await server.start(0)
    const base = `ws://127.0.0.1:${port}/ws/events`

    const attempts: Attempt[][] = Array.from({ length: GROUPS }, () => [])
    const live: number[] = Array<number>(GROUPS).fill(0)
    const maxLive: number[] = Array<number>(GROUPS).fill(0)
    const WebSocketClass = tapped(attempts, live, maxLive)
    /** The delays each group's connection planned, in order, as its debug log announced them. */
    const planned: number[][] = Array.from({ length: GROUPS }, () => [])
    const handles: Handle[] = []
    for (let group = 0; group < GROUPS; group++) {
      const logger = {
        debug: (message: string): void => {
          const next = /next attempt in (\d+) ms/.exec(message)
          if (next) planned[group]?.push(Number(next[1]))
        },
      }
      for (let i = 0; i < HANDLES_PER_GROUP; i++) {
        const client = new RealtimeClient({ url: `${base}?group=${group}`, WebSocket: WebSocketClass, reconnect: RECONNECT, logger, subscribe: [`g${group}.*`] })
        const h: Handle = { group, client, statuses: [], resyncs: [] }
        client.on('status', (s) => h.statuses.push(s))
        client.on('resync', (r) => h.resyncs.push(r))
        handles.push(h)
        cleanups.push(() => client.close())
      }
    }
    await until(() => handles.every((h) => h.client.status === 'open'), 15_000, 'every handle to open')
    expect(server.rt.stats()).toMatchObject({ connections: GROUPS, sessions: GROUPS })
    expect(attempts.map((a) => a.length)).toEqual(Array<number>(GROUPS).fill(1))

    // ---- the crash ----
    for (const h of handles) h.statuses.length = 0
    // How late the process's timers ran from here on (a loaded machine stalls them all).
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    cleanups.push(() => lag.disable())
    const stoppedAt = performance.now()
    await server.stop()
    /** Attempts each group made since the crash (the first of each list is the socket that was cut). */
    const refused = (g: number): number => (attempts[g] as Attempt[]).slice(1).filter((a) => a.endedAt !== undefined && !a.opened).length
    await until(
      () => attempts.every((_, g) => refused(g) >= REFUSED_BEFORE_RESTART),
      20_000,
      `every group to have ${REFUSED_BEFORE_RESTART} refused attempts`,
    )
    expect(handles.every((h) => h.client.status === 'reconnecting')).toBe(true)

    // ---- the restart, on the same port ----
    const restartPort = await server.start(port)
    const restartedAt = performance.now()
    expect(restartPort).toBe(port)
    await until(() => handles.every((h) => h.client.status === 'open'), 15_000, 'every handle to open again')
    await until(() => handles.every((h) => h.resyncs.length > 0), 5_000, 'every handle to hear of its new session')
    const downtime = restartedAt - stoppedAt

    // -- One socket per group, at any time, on both sides --
    expect(server.groups.map((g) => g.maxOpen)).toEqual(Array<number>(GROUPS).fill(1))
    expect(maxLive).toEqual(Array<number>(GROUPS).fill(1))
    expect(server.rt.stats()).toMatchObject({ connections: GROUPS, sessions: GROUPS })
    // Every group came back with exactly one socket: its attempts are the cut one, the refused
    // ones, and one that opened last.
    for (const list of attempts) {
      expect(list[0]?.opened).toBe(true)
      expect(list.at(-1)?.opened).toBe(true)
      expect(list.slice(1, -1).every((a) => !a.opened)).toBe(true)
    }
    // The server saw one socket per group before the crash and one after it.
    expect(server.groups.map((g) => g.arrivals.length)).toEqual(Array<number>(GROUPS).fill(2))

    // -- What each handle saw: one outage, one new session --
    for (const h of handles) {
      expect(h.statuses, `group ${h.group}`).toEqual(['reconnecting', 'open'])
      expect(h.resyncs, `group ${h.group}`).toEqual([{ reason: 'new_session', from: 1, to: null, missed: null }])
    }

    lag.disable()
    /** The longest the event loop lagged behind its timers during the outage and the comeback, ms. */
    const maxLag = lag.max / 1e6
    const slack = maxLag + MARGIN

    // -- Every delay the client planned: within its jitter window, so never above the cap --
    expect(planned.map((p) => p.length)).toEqual(attempts.map((a) => a.length - 1))
    /** [retry number, planned delay, measured delay (from the failure the client reacted to, to its next attempt)]. */
    const delays: [number, number, number][] = []
    planned.forEach((list, g) =>
      list.forEach((delay, retry) => {
        const before = attempts[g]?.[retry] as Attempt
        const after = attempts[g]?.[retry + 1] as Attempt
        delays.push([retry, delay, after.startedAt - (before.endedAt as number)])
      }),
    )
    const outside = delays.filter(([retry, delay]) => {
      const [lo, hi] = windowOf(retry)
      return delay < lo || delay > hi
    })
    expect(outside).toEqual([])
    const longestPlanned = Math.max(...delays.map(([, delay]) => delay))
    expect(longestPlanned).toBeLessThanOrEqual(RECONNECT.maxDelay)
    // -- ...and the client waited what it planned (timers never fire early; late only by the loop's lag) --
    const early = delays.filter(([, delay, waited]) => waited < delay - 1)
    const late = delays.filter(([, delay, waited]) => waited > delay + slack)
    expect(early).toEqual([])
    expect(late, `event loop lag up to ${maxLag.toFixed(0)} ms`).toEqual([])
    const longestWaited = Math.max(...delays.map(([, , waited]) => waited))
    const overshoot = summary(delays.map(([, delay, waited]) => waited - delay))

    // -- The jitter spreads each step over its whole window --
    // Where each planned delay fell in its window (0 = lowest, 1 = highest), for the retries whose
    // window is widest (400 ms): with factor 2, retry 2 and every retry at the cap.
    const positions = delays
      .filter(([retry]) => retry >= 2)
      .map(([retry, delay]) => {
        const [lo, hi] = windowOf(retry)
        return (delay - lo) / (hi - lo)
      })
    const quarters = [0, 0, 0, 0]
    for (const p of positions) quarters[Math.min(3, Math.floor(p * 4))]! += 1
    const shares = quarters.map((n) => n / positions.length)
    const spread = summary(positions)
    const firstRetry = summary(delays.filter(([retry]) => retry === 0).map(([, delay]) => delay))

    // -- The herd after the restart: when each group's first socket reached the new server --
    const comeback = server.groups.map((g) => (g.arrivals[1] as number) - restartedAt)
    const back = summary(comeback)
    const peak50 = peak(comeback, 50)
    const peak100 = peak(comeback, 100)

    console.log(
      `[herd] groups=${GROUPS} handles=${handles.length} downtime=${ms(downtime)} retries=${delays.length} ` +
        `longest planned delay=${ms(longestPlanned)} waited=${ms(longestWaited)} (cap ${RECONNECT.maxDelay} ms; waited-planned min ${overshoot.min.toFixed(1)} median ${overshoot.median.toFixed(1)} max ${overshoot.max.toFixed(1)} ms, event loop lag max ${maxLag.toFixed(0)} ms); ` +
        `first retry after the cut: min ${ms(firstRetry.min)} median ${ms(firstRetry.median)} max ${ms(firstRetry.max)} (window ${windowOf(0).join('-')} ms); ` +
        `retries >= 2 across their window (0-1): min ${spread.min.toFixed(2)} median ${spread.median.toFixed(2)} max ${spread.max.toFixed(2)}, ` +
        `quarters ${shares.map((x) => `${(x * 100).toFixed(0)}%`).join('/')}; ` +
        `back after the restart: min ${ms(back.min)} median ${ms(back.median)} max ${ms(back.max)}, ` +
        `busiest 50 ms ${peak50}/${GROUPS}, busiest 100 ms ${peak100}/${GROUPS}`,
    )

    // Uniform draws put 25% in each quarter (±2 points at this sample size); lockstep or a
    // jitter of 0 would put every one in a single quarter.
    expect(positions.length).toBeGreaterThanOrEqual(GROUPS * (REFUSED_BEFORE_RESTART - 2))
    for (const share of shares) expect(share).toBeGreaterThan(0.15)
    expect(spread.min).toBeLessThan(0.05)
    expect(spread.max).toBeGreaterThan(0.95)
    expect(spread.median).toBeGreaterThan(0.4)
    expect(spread.median).toBeLessThan(0.6)
    // Every group was back within one capped delay of the restart (it was waiting out at most one)...
    expect(back.max).toBeLessThanOrEqual(RECONNECT.maxDelay + slack)
    // ...and they did not come back together: their arrivals cover most of that delay, and no
    // 100 ms holds more than 40% of them (lockstep would put all 200 in one). Arrivals are due at
    // most 1 per 600 ms per group (the mean capped delay), so a stall of the event loop can
    // bunch up at most that share of the groups more: the bound allows for the stall measured.
    expect(back.max - back.min).toBeGreaterThan(RECONNECT.maxDelay / 2)
    expect(peak100).toBeLessThanOrEqual(GROUPS * (0.4 + maxLag / 600))
  }, 60_000)
})
