/**
 * The browser's own conditions, in real Chromium: the network goes away and comes back, the page
 * is frozen and resumed, the page is hidden behind another tab and shown again. In each, the link
 * dies (or the page stops looking at it) while events are published, and the client must notice
 * when the page runs or looks again, reconnect, and deliver every event exactly once, in order,
 * with no `resync`.
 *
 * The page (test/e2e/browser-conditions/app.ts) is bundled from the built package (dist/) and
 * served with the reference server by one node:http server on loopback. It records the browser's
 * signals and the client's status changes with the page's own clock, so the delays asserted
 * below are measured inside the page, between a signal and the client's reaction to it. Each
 * bound is far from what the client would do without reacting to the signal (the next heartbeat
 * tick, a watchdog's timeout, the next backoff step, poll or upgrade probe), never a tight timing.
 *
 * The browser is started by test/e2e/browser-conditions/browser.ts, not by `launchChromium`:
 * Playwright's own launch keeps every page visible and unfreezable (see there).
 *
 * - A dead link is the server's `setSilent(true)`: the socket stays open and nothing comes through,
 *   as on a half-open link. Events published meanwhile go to the session's replay buffer only.
 * - Offline is `context.setOffline(true)` (CDP network emulation): frames on the open socket stop
 *   flowing both ways, the socket is not closed, and the page gets `offline`, then `online`.
 * - Frozen is CDP `Page.setWebLifecycleState`: the page is hidden and frozen (`visibilitychange`,
 *   `freeze`; no timer and no task runs), and `active` resumes it (`resume`) while it stays hidden.
 *   Chromium fails an open WebSocket of a frozen page (1006) the moment the page resumes, however
 *   short the freeze; requests not yet made are unaffected.
 * - Hidden is another tab opened in front of the page; `bringToFront` shows it again. A hidden
 *   page's timers still run (throttled to about once a second).
 * - Timers held back (as in a background tab throttled to one wake-up a minute, or on a machine
 *   that slept) are the debugger's `Debugger.pause`: no JavaScript runs until `Debugger.resume`.
 *
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium. Missing, these tests are skipped with a warning,
 * except under CI=true, where the missing browser is a failure.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createRealtimeServer, type RealtimeServer } from '../../src/server/index.js'
import { assertBuilt } from '../package/helpers.js'
import type { PageState, StartOptions } from './browser-conditions/app.js'
import { launchPlainChromium, type PlainChromium } from './browser-conditions/browser.js'
import { describeInChromium } from './chromium.js'
import { bundlePageApp } from './page-app.js'

const WS_PATH = '/ws/events'
const POLL_PATH = '/api/events'

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>wirefeed: the browser's own conditions</title>
<script type="module" src="/app.js"></script></head><body></body></html>`

const bundleApp = async (): Promise<string> => (await bundlePageApp('test/e2e/browser-conditions/app.ts')).code

/** One node:http server on 127.0.0.1 (a free port): the page and its script, with the reference server attached. */
async function serve(app: string): Promise<{ http: Server; rt: RealtimeServer; url: string }> {
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(HTML)
    else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(app)
    else res.writeHead(404).end()
  })
  const rt = createRealtimeServer({ server: http, path: WS_PATH, pollPath: POLL_PATH })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { http, rt, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/` }
}

/** The events numbered `from` to `to`, as the page records them (seq n carries `{ n }`). */
const numbered = (from: number, to: number): PageState['events'] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, event: 'tick', data: { n: from + i } }))

/** When the page last noted `signal`. */
function lastSignal(s: PageState, signal: string): number {
  const found = s.signals.filter((x) => x.signal === signal).at(-1)
  if (!found) throw new Error(`the page noted no ${signal}; signals: ${JSON.stringify(s.signals)}`)
  return found.at
}
/** When the status first changed to `status`, at or after `after`. */
function statusAt(s: PageState, status: string, after = -Infinity): number {
  const found = s.statuses.find((x) => x.status === status && x.at >= after)
  if (!found) throw new Error(`no status ${status} after ${after}; statuses: ${JSON.stringify(s.statuses)}`)
  return found.at
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describeInChromium("the browser's own conditions in Chromium (offline, frozen, hidden)", () => {
  let browser: PlainChromium | undefined
  let served: { http: Server; rt: RealtimeServer; url: string } | undefined
  let page: Page
  let pageErrors: string[] = []
  /** Published so far in the current test; event n carries `{ n }` and gets seq n in the page's fresh session. */
  let published = 0
  const figures: Record<string, Record<string, number>> = {}

  const rt = (): RealtimeServer => {
    if (!served) throw new Error('server not started')
    return served.rt
  }
  const context = (): BrowserContext => {
    if (!browser) throw new Error('browser not started')
    return browser.context
  }
  const state = (): Promise<PageState> => page.evaluate(() => window.conditionsPage.state())

  /** Wait until the page's state satisfies `predicate`; fails with the last state seen. */
  async function until(what: string, predicate: (s: PageState) => boolean, timeout: number): Promise<PageState> {
    const end = Date.now() + timeout
    for (;;) {
      const s = await state()
      if (predicate(s)) return s
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}; page state: ${JSON.stringify(s)}`)
      await sleep(20)
    }
  }

  /** Publish the next `count` events; each must reach exactly the page's one session. */
  function publish(count: number): void {
    for (let i = 0; i < count; i++) expect(rt().publish('tick', { n: ++published })).toBe(1)
  }

  /**
   * A fresh page (a new tab in front, the previous ones closed) with a client connected to a fresh
   * server side, over WebSocket (or polling, with WebSocket refused), and the first events delivered.
   */
  async function open(options: StartOptions, { polling = false, warmUp = 3 } = {}): Promise<void> {
    if (!served) throw new Error('server not started')
    const previous = context().pages()
    page = await context().newPage()
    for (const p of previous) await p.close()
    pageErrors = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    served.rt.forgetSessions()
    served.rt.refuseWebSocket(polling)
    published = 0
    await page.goto(served.url)
    await page.waitForFunction(() => window.conditionsPage !== undefined, null, { timeout: 5000 })
    expect(await page.evaluate(() => document.visibilityState)).toBe('visible')
    await page.evaluate((o) => window.conditionsPage.start(o), options)
    const transport = polling ? 'polling' : 'websocket'
    await until(`the first answer over ${transport}`, (s) => s.stats?.transport === transport, 5000)
    publish(warmUp)
    await until(`the first ${warmUp} events`, (s) => s.events.length === warmUp, 5000)
  }

  /**
   * What every case ends with: each event exactly once and in order, no resync, no error.
   * `duplicates`: how many copies the client may have dropped by seq (a poll answer and the socket
   * that replaces it can carry the same events); none by default.
   */
  async function expectEveryEventOnce(statuses: string[], reconnects: number, duplicates = 0): Promise<PageState> {
    const s = await until(`all ${published} events`, (x) => x.status === 'open' && x.events.length >= published, 10_000)
    expect(s.events).toEqual(numbered(1, published))
    expect(s.statuses.map((x) => x.status)).toEqual(statuses)
    expect(s.resyncs).toEqual([])
    expect(s.errors).toEqual([])
    expect(s.stats).toMatchObject({ reconnects, resyncs: 0, gaps: 0, transport: 'websocket' })
    expect(s.stats?.duplicates).toBeLessThanOrEqual(duplicates)
    expect(pageErrors).toEqual([])
    return s
  }

  beforeAll(async () => {
    assertBuilt()
    const [app, chromium] = await Promise.all([bundleApp(), launchPlainChromium('wirefeed-conditions-test-')])
    browser = chromium
    served = await serve(app)
  }, 30_000)

  afterEach(async () => {
    served?.rt.setSilent(false)
    served?.rt.refuseWebSocket(false)
    await browser?.context.setOffline(false)
    await page?.evaluate(() => window.conditionsPage?.close()).catch(() => {})
  })

  afterAll(async () => {
    await browser?.close()
    if (served) {
      const { http, rt: server } = served
      await server.close()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    }
    console.log(`browser conditions timings (ms, measured in the page): ${JSON.stringify(figures)}`)
  }, 20_000)

  it('offline: the heartbeat finds the dead link, `online` reconnects at once, not at the next backoff step, and the events published meanwhile are replayed', async () => {
    const HEARTBEAT = { interval: 500, timeout: 1000 }
    // after the loss, the next scheduled attempt is 20 s away: only `online` can bring the link back sooner
    const BACKOFF = 20_000
    await open({ fallback: false, heartbeat: HEARTBEAT, reconnect: { minDelay: BACKOFF, maxDelay: BACKOFF, jitter: 0, connectTimeout: 5000 } })

    await context().setOffline(true)
    publish(3)
    let s = await until('the dead link to be noticed', (x) => x.status !== 'open', HEARTBEAT.interval + HEARTBEAT.timeout + 3000)
    const offlineAt = lastSignal(s, 'offline')
    const lostAt = statusAt(s, 'reconnecting', offlineAt)
    // within the heartbeat's bounds: the next tick's ping, then its timeout (timers run late under load: + 1 s)
    expect(lostAt - offlineAt).toBeLessThanOrEqual(HEARTBEAT.interval + HEARTBEAT.timeout + 1000)
    // nothing came through the socket while offline
    expect(s.events).toEqual(numbered(1, 3))
    publish(2)

    await context().setOffline(false)
    s = await until('the link to come back', (x) => x.status === 'open', 5000)
    const onlineAt = lastSignal(s, 'online')
    const backAt = statusAt(s, 'open', onlineAt)
    // one attempt at once on `online`: the scheduled one was still ~20 s away
    expect(backAt - onlineAt).toBeLessThan(2000)
    expect(backAt - lostAt).toBeLessThan(BACKOFF / 4)
    await expectEveryEventOnce(['open', 'reconnecting', 'open'], 1)
    figures.offline = { noticed: Math.round(lostAt - offlineAt), reconnectedAfterOnline: Math.round(backAt - onlineAt) }
  }, 30_000)

  it('frozen over WebSocket: the dead link is noticed at once on resume, though the page stays hidden, and every event arrives once', async () => {
    // Chromium fails the socket of a frozen page (1006) as soon as the page resumes, so the close
    // is what the client notices first here. Were the socket left open, the heartbeat's wall-clock
    // judgment on `resume` would find the link dead at once (frozen longer than interval + timeout):
    // the overdue tick alone would ping and give up only `timeout` (2 s) later.
    const HEARTBEAT = { interval: 500, timeout: 2000 }
    // longer than interval + timeout since the last frame, which came at most one interval before the freeze
    const FROZEN_FOR = HEARTBEAT.interval + HEARTBEAT.timeout + 1500
    await open({ fallback: false, heartbeat: HEARTBEAT, reconnect: { minDelay: 1000, maxDelay: 1000, jitter: 0, connectTimeout: 5000 } })
    const cdp = await context().newCDPSession(page)

    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' })
    let s = await until('the page to freeze', (x) => x.signals.some((y) => y.signal === 'freeze'), 5000)
    expect(s.visibility).toBe('hidden')
    // the link dies while the page cannot notice
    rt().setSilent(true)
    publish(3)
    await sleep(FROZEN_FOR) // the scenario: frozen this long
    s = await state()
    // nothing ran while frozen: had the timers run, the watchdog would have given up after ~2.5 s
    expect(s.status).toBe('open')
    expect(s.statuses.map((x) => x.status)).toEqual(['open'])

    await cdp.send('Page.setWebLifecycleState', { state: 'active' })
    s = await until('the dead link to be noticed', (x) => x.status !== 'open', 5000)
    const resumedAt = lastSignal(s, 'resume')
    const lostAt = statusAt(s, 'reconnecting')
    expect(lostAt - resumedAt).toBeLessThan(500)
    // the page is still hidden: no `visibilitychange` came
    expect(s.visibility).toBe('hidden')
    expect(s.signals.map((x) => x.signal)).toEqual(['pageshow', 'hidden', 'freeze', 'resume'])

    rt().setSilent(false)
    publish(2)
    s = await expectEveryEventOnce(['open', 'reconnecting', 'open'], 1)
    figures.frozen = { frozenFor: FROZEN_FOR, noticedAfterResume: Math.round(lostAt - resumedAt), reconnectedAfterResume: Math.round(statusAt(s, 'open', lostAt) - resumedAt) }
    await cdp.detach()
  }, 30_000)

  it('frozen while polling: `resume` polls at once and probes WebSocket at once, long before the poll interval and the upgrade interval', async () => {
    // Plain polling every 20 s, a WebSocket probe every 60 s: only the wake on `resume` (the page
    // stays hidden) can bring the events and the socket sooner. No request is in flight when the
    // page freezes: the first poll has been answered and the next is 20 s away.
    const POLL_EVERY = 20_000
    const UPGRADE_EVERY = 60_000
    await open(
      {
        fallback: true,
        reconnect: { maxAttempts: 1, minDelay: 1000, maxDelay: 1000, jitter: 0, connectTimeout: 5000 },
        polling: { interval: POLL_EVERY, wait: 0, upgradeInterval: UPGRADE_EVERY },
      },
      { polling: true, warmUp: 0 },
    )
    const cdp = await context().newCDPSession(page)

    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' })
    let s = await until('the page to freeze', (x) => x.signals.some((y) => y.signal === 'freeze'), 5000)
    const polledAt = statusAt(s, 'polling')
    publish(3)
    rt().refuseWebSocket(false)
    await sleep(500) // the scenario: frozen a while
    s = await state()
    expect(s.events).toEqual([])

    await cdp.send('Page.setWebLifecycleState', { state: 'active' })
    s = await until('the events and the socket', (x) => x.events.length === 3 && x.status === 'open', 5000)
    const resumedAt = lastSignal(s, 'resume')
    const deliveredAt = s.arrivals.at(-1) ?? Number.NaN
    const upgradedAt = statusAt(s, 'open')
    expect(deliveredAt - resumedAt).toBeLessThan(2000)
    expect(upgradedAt - resumedAt).toBeLessThan(2000)
    expect(upgradedAt - polledAt).toBeLessThan(POLL_EVERY / 2)
    expect(s.visibility).toBe('hidden')
    expect(s.signals.map((x) => x.signal)).toEqual(['pageshow', 'hidden', 'freeze', 'resume'])

    publish(2)
    // the poll and the new socket may both have carried events 1 to 3: the client keeps one of each
    await expectEveryEventOnce(['polling', 'open'], 0, 3)
    figures.frozenPolling = { deliveredAfterResume: Math.round(deliveredAt - resumedAt), upgradedAfterResume: Math.round(upgradedAt - resumedAt) }
    await cdp.detach()
  }, 30_000)

  it('hidden and shown: becoming visible probes the link at once, long before the next heartbeat tick, and every event arrives once', async () => {
    // The next tick is 20 s away: only the probe on `visibilitychange` can find the dead link sooner.
    const HEARTBEAT = { interval: 20_000, timeout: 1000 }
    await open({ fallback: false, heartbeat: HEARTBEAT, reconnect: { minDelay: 1000, maxDelay: 1000, jitter: 0, connectTimeout: 5000 } })

    const other = await context().newPage()
    let s = await until('the page to be hidden behind the new tab', (x) => x.visibility === 'hidden', 5000)
    rt().setSilent(true)
    publish(3)
    await page.bringToFront()
    s = await until('the dead link to be noticed', (x) => x.status !== 'open', HEARTBEAT.timeout + 4000)
    const shownAt = lastSignal(s, 'visible')
    const openedAt = statusAt(s, 'open')
    const lostAt = statusAt(s, 'reconnecting')
    // the link had been quiet for less than interval + timeout: the probe pings and gives the
    // answer `timeout` to come (timers may fire a little late, never early)
    expect(lostAt - shownAt).toBeGreaterThanOrEqual(HEARTBEAT.timeout - 5)
    expect(lostAt - shownAt).toBeLessThan(HEARTBEAT.timeout + 1000)
    expect(lostAt - openedAt).toBeLessThan(HEARTBEAT.interval / 2)
    expect(s.signals.map((x) => x.signal)).toEqual(['pageshow', 'hidden', 'visible'])

    rt().setSilent(false)
    publish(2)
    s = await expectEveryEventOnce(['open', 'reconnecting', 'open'], 1)
    figures.hidden = { noticedAfterShown: Math.round(lostAt - shownAt), reconnectedAfterShown: Math.round(statusAt(s, 'open', lostAt) - shownAt) }
    await other.close()
  }, 30_000)

  it('timers held back while hidden, then shown: the link silent longer than interval + timeout is found dead at once by wall-clock time', async () => {
    // What a background tab whose timers ran late (intensive throttling runs them once a minute) or
    // a machine that slept goes through, made short: the page's JavaScript is held in the debugger
    // while the link is silent. When it runs again, the overdue tick pings and its watchdog would
    // give up `timeout` (2 s) later; becoming visible must find the link dead at once instead.
    const HEARTBEAT = { interval: 500, timeout: 2000 }
    const HELD_FOR = HEARTBEAT.interval + HEARTBEAT.timeout + 1500
    await open({ fallback: false, heartbeat: HEARTBEAT, reconnect: { minDelay: 1000, maxDelay: 1000, jitter: 0, connectTimeout: 5000 } })
    const cdp = await context().newCDPSession(page)
    await cdp.send('Debugger.enable')

    const other = await context().newPage()
    await until('the page to be hidden behind the new tab', (x) => x.visibility === 'hidden', 5000)
    rt().setSilent(true)
    publish(3)
    // the page stops at its next piece of JavaScript: the heartbeat's next tick, at the latest
    const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()))
    await cdp.send('Debugger.pause')
    await paused
    await sleep(HELD_FOR) // the scenario: no timer ran this long (the page cannot be read meanwhile)
    await cdp.send('Debugger.resume')
    await page.bringToFront()
    const s = await until('the dead link to be noticed', (x) => x.status !== 'open', 5000)
    const shownAt = lastSignal(s, 'visible')
    const lostAt = statusAt(s, 'reconnecting')
    expect(lostAt - shownAt).toBeLessThan(500)
    expect(s.signals.map((x) => x.signal)).toEqual(['pageshow', 'hidden', 'visible'])

    rt().setSilent(false)
    publish(2)
    await expectEveryEventOnce(['open', 'reconnecting', 'open'], 1)
    figures.heldBack = { heldFor: HELD_FOR, noticedAfterShown: Math.round(lostAt - shownAt) }
    await cdp.detach()
    await other.close()
  }, 30_000)
})
