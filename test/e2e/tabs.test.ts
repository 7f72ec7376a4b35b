/**
 * `shareAcrossTabs` in real Chromium: several pages of one browser context (one origin, so one
 * set of Web Locks and BroadcastChannels) run the app of test/e2e/tabs/app.ts, bundled from the
 * built package, against the reference server served with it by one node:http server on
 * loopback. The server's stats count the sockets, its `onAck` hook counts the acks, and a `filter`
 * hook reports the session's patterns; each page counts the sockets it opened (only the leader
 * opens one) and the acks they sent.
 *
 * The browser is started by test/e2e/browser-conditions/browser.ts, not by `launchChromium`:
 * Playwright's own launch keeps every page visible, and unfreezable. Here the pages are tabs of
 * one window, as a user has them: the one in front is visible, the others are hidden (their timers
 * throttled to about once a second). A crash is CDP `Page.crash` (the renderer goes, with no
 * `pagehide`); a freeze is CDP `Page.setWebLifecycleState`, under which Chromium runs no timer
 * and delivers no socket frame to the page, but does run its BroadcastChannel handlers.
 *
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium. Missing, these tests are skipped with a warning,
 * except under CI=true, where the missing browser is a failure.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CDPSession, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createRealtimeServer, type RealtimeServer } from '../../src/server/index.js'
import { CHECK, GRACE } from '../../src/tabs/link.js'
import { assertBuilt } from '../package/helpers.js'
import { launchPlainChromium, type PlainChromium } from './browser-conditions/browser.js'
import { describeInChromium } from './chromium.js'
import type { TabsPageState } from './tabs/app.js'
import { bundlePageApp } from './page-app.js'

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>wirefeed: one connection per browser</title>
<script type="module" src="/app.js"></script></head><body></body></html>`

const bundleApp = async (): Promise<string> => (await bundlePageApp('test/e2e/tabs/app.ts')).code

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Hidden pages run their timers about once a second: a hand-over's steps may each wait that long. */
const SETTLE = 5000

describeInChromium('shareAcrossTabs in Chromium: one socket for the pages of a browser', () => {
  let browser: PlainChromium | undefined
  let http: Server | undefined
  let rt: RealtimeServer | undefined
  let url = ''
  let pages: Page[] = []
  /** The patterns of each session the `a.probe` event was offered to (it is never delivered). */
  let probed: string[][] = []
  /** Every ack the server got, in order. */
  let acked: number[] = []
  /** Published in the current test; event n gets seq n in the pages' one session. */
  let published = 0
  const figures: Record<string, number> = {}

  const server = (): RealtimeServer => {
    if (!rt) throw new Error('server not started')
    return rt
  }

  beforeAll(async () => {
    assertBuilt()
    const [app, chromium] = await Promise.all([bundleApp(), launchPlainChromium('wirefeed-tabs-test-')])
    browser = chromium
    const h = (http = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
      if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(HTML)
      else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(app)
      else res.writeHead(404).end()
    }))
    rt = createRealtimeServer({
      server: h,
      path: '/ws/events',
      // what a page misses while it leads no longer (frozen) is replayed to the next leader
      replayBuffer: 5000,
      filter: (session, event) => {
        if (event !== 'a.probe') return true
        probed.push([...session.patterns].sort())
        return false
      },
      onAck: (_session, seq) => acked.push(seq),
    })
    await new Promise<void>((resolve) => h.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(h.address() as AddressInfo).port}/`
  }, 30_000)

  afterEach(async () => {
    for (const page of pages) await page.close().catch(() => {})
    pages = []
    if (!rt) return
    await expect.poll(() => server().stats().connections).toBe(0)
    server().forgetSessions()
    acked = []
    published = 0
  })

  afterAll(async () => {
    if (Object.keys(figures).length > 0) console.log(`shareAcrossTabs in Chromium, timings (ms): ${JSON.stringify(figures)}`)
    await browser?.close()
    await rt?.close()
    const h = http
    if (!h) return
    h.closeAllConnections()
    await new Promise((resolve) => h.close(resolve))
  }, 20_000)

  /** Open a page (a new tab in front) and start its client; resolves once it is `open`. */
  async function open(subscribe: string[] = []): Promise<Page> {
    if (!browser) throw new Error('browser not started')
    const page = await browser.context.newPage()
    pages.push(page)
    await page.goto(url)
    await page.evaluate((s) => window.tabsPage.start(s), subscribe)
    await expect.poll(() => state(page).then((s) => s.status), { timeout: SETTLE }).toBe('open')
    return page
  }

  const state = (page: Page): Promise<TabsPageState> => page.evaluate(() => window.tabsPage.state())
  const seqs = async (page: Page): Promise<number[]> => (await state(page)).events.map((e) => e.seq)
  /** The published numbers of the events a page delivered. */
  const numbers = async (page: Page): Promise<(number | undefined)[]> => (await state(page)).events.map((e) => e.n)

  /** Publish `count` events named by `name(n)` (n: the seq each gets). */
  function publish(count: number, name: (n: number) => string = () => 'tick', ack = false): void {
    for (let i = 0; i < count; i++) {
      const n = ++published
      server().publish(name(n), { n }, { ack })
    }
  }

  /** Publish one event every `every` ms until the returned function is called. */
  function publishing(every: number, name?: (n: number) => string, ack = false): () => void {
    const timer = setInterval(() => publish(1, name, ack), every)
    return () => clearInterval(timer)
  }

  /** How many times the server got an ack for each seq, in seq order. */
  const ackCounts = (): Record<number, number> => {
    const counts: Record<number, number> = {}
    for (const seq of acked) counts[seq] = (counts[seq] ?? 0) + 1
    return counts
  }
  const once = (seqs: number[]): Record<number, number> => Object.fromEntries(seqs.map((s) => [s, 1]))

  /** Which of `all` opened a socket (the leaders, in order of `all`). */
  const socketsOf = async (all: Page[]): Promise<number[]> => Promise.all(all.map(async (p) => (await state(p)).sockets))

  async function cdp(page: Page): Promise<CDPSession> {
    if (!browser) throw new Error('browser not started')
    return browser.context.newCDPSession(page)
  }

  async function freeze(page: Page): Promise<CDPSession> {
    const session = await cdp(page)
    await session.send('Page.setWebLifecycleState', { state: 'frozen' })
    // evaluated while frozen: the debugger runs, the page's own tasks do not
    await expect.poll(async () => (await state(page)).lifecycle).toEqual(['freeze'])
    return session
  }

  /** Wait until the session on the server has `patterns` (the pages' subscriptions reached the leader and the server). */
  async function untilPatterns(patterns: string[]): Promise<void> {
    await expect
      .poll(
        () => {
          probed = []
          server().publish('a.probe', 0)
          return probed.at(-1)
        },
        { timeout: SETTLE },
      )
      .toEqual(patterns)
  }

  /** Each page's state satisfies `check`, once for all. */
  async function expectEach(all: Page[], check: (s: TabsPageState, i: number) => void): Promise<void> {
    const states = await Promise.all(all.map(state))
    states.forEach(check)
  }

  it('three pages share one socket, and each delivers every event', async () => {
    const all = [await open(), await open(), await open()]
    expect(server().stats().connections).toBe(1)
    expect(await socketsOf(all)).toEqual([1, 0, 0])
    publish(10)
    for (const page of all) await expect.poll(() => seqs(page)).toEqual(range(1, 10))
    await expectEach(all, (s) => {
      expect(s.stats).toMatchObject({ messages: 10, resyncs: 0, transport: 'websocket' })
      expect(s.resyncs).toEqual([])
      expect(s.errors).toEqual([])
    })
    expect(server().stats().connections).toBe(1)
  })

  it('the subscriptions of the pages combine on the server; each page gets only what it subscribed to', async () => {
    const a = await open(['a.*'])
    const b = await open(['b.*'])
    await untilPatterns(['a.*', 'b.*'])
    server().publish('a.one', 1)
    server().publish('b.one', 2)
    server().publish('c.one', 3)
    server().publish('b.two', 4)
    await expect.poll(async () => (await state(b)).events.map((e) => e.event)).toEqual(['b.one', 'b.two'])
    expect((await state(a)).events.map((e) => e.event)).toEqual(['a.one'])
    // the session's seqs are 1 (a.one), 2 and 3; each page numbers its own without holes
    expect([await seqs(a), await seqs(b)]).toEqual([[1], [1, 2]])
    expect(server().stats().connections).toBe(1)
  })

  it('events that ask for an ack are acked once each, by the leader, whichever pages want them', async () => {
    const all = [await open(['a.*']), await open(['b.*']), await open(['b.*', 'c.*'])]
    await untilPatterns(['a.*', 'b.*', 'c.*'])
    const names = ['a.x', 'b.x', 'c.x']
    publish(30, (n) => names[n % 3]!, true)
    await expect.poll(() => acked.length, { timeout: SETTLE }).toBe(30)
    await sleep(200)
    expect(ackCounts()).toEqual(once(range(1, 30)))
    const wanted = (prefixes: string[]): number[] => range(1, 30).filter((n) => prefixes.some((p) => names[n % 3]!.startsWith(p)))
    await expectEach(all, (s, i) => {
      // each page its own events, numbered 1, 2, ... as a connection of its own would number them
      const mine = wanted([['a'], ['b'], ['b', 'c']][i]!)
      expect(s.events.map((e) => e.n)).toEqual(mine)
      expect(s.events.map((e) => e.seq)).toEqual(range(1, mine.length))
      // only the leader's socket acks, each event once (its own as it delivers them, the others' as they come)
      expect([...s.acks].sort((x, y) => x - y)).toEqual(i === 0 ? range(1, 30) : [])
    })
  })

  it('closing the leader page hands over: every remaining page gets every event once, in order, with no resync', async () => {
    const leader = await open()
    const others = [await open(), await open()]
    expect(server().stats().connections).toBe(1)
    publish(20)
    // publish all along the hand-over
    const stop = publishing(5)
    await sleep(50)
    await leader.close()
    pages = pages.filter((p) => p !== leader)
    await sleep(300)
    stop()
    publish(5)
    for (const page of others) await expect.poll(() => seqs(page), { timeout: SETTLE }).toEqual(range(1, published))
    await expectEach(others, (s) => {
      expect(s.status).toBe('open')
      expect(s.resyncs).toEqual([])
      expect(s.errors).toEqual([])
      expect(s.stats).toMatchObject({ messages: published, resyncs: 0, reconnects: 1, transport: 'websocket' })
    })
    expect(server().stats().connections).toBe(1)
    expect(server().stats().sessions).toBe(1)
  })

  it(
    'a crashed leader page: the others take over well within CHECK, every event once, in order, no resync; one socket again',
    async () => {
      const leader = await open()
      const others = [await open(), await open()]
      expect(await socketsOf([leader, ...others])).toEqual([1, 0, 0])
      publish(20, undefined, true)
      const stop = publishing(5, undefined, true)
      await sleep(50)
      const crashed = new Promise<void>((resolve) => leader.once('crash', () => resolve()))
      // the page is gone before it can answer
      void (await cdp(leader)).send('Page.crash').catch(() => {})
      await crashed
      const crashedAt = Date.now()
      const before = published
      // the lock went with the renderer: the next page leads, resumes the session, and an event
      // published after the crash reaches both pages. A silent leader would only be probed after
      // CHECK: this is the crash path, not that one.
      await expect
        .poll(async () => (await Promise.all(others.map(seqs))).every((s) => s.includes(before + 1)), { timeout: CHECK, interval: 20 })
        .toBe(true)
      figures.crashedLeaderHandover = Date.now() - crashedAt
      stop()
      publish(5, undefined, true)
      for (const page of others) await expect.poll(() => seqs(page), { timeout: SETTLE }).toEqual(range(1, published))
      await expectEach(others, (s) => {
        expect(s.status).toBe('open')
        expect(s.resyncs).toEqual([])
        expect(s.errors).toEqual([])
        expect(s.stats).toMatchObject({ messages: published, resyncs: 0, reconnects: 1, transport: 'websocket' })
      })
      expect((await socketsOf(others)).sort()).toEqual([0, 1])
      await expect.poll(() => server().stats().connections).toBe(1)
      expect(server().stats().sessions).toBe(1)
      // every event acked, at least once: acks the crashed page had not sent yet go out from the next leader
      await expect.poll(() => Object.keys(ackCounts()).length, { timeout: SETTLE }).toBe(published)
      figures.crashedLeaderRepeatedAcks = acked.length - published
    },
    30_000,
  )

  it(
    'a follower frozen longer than CHECK + GRACE misses nothing and keeps its subscriptions; the leader stays; every ack once',
    async () => {
      // each page its own events: the frozen one's come only while the leader keeps its patterns
      const leader = await open(['a.*'])
      const frozen = await open(['b.*'])
      const other = await open(['c.*'])
      const all = [leader, frozen, other]
      await untilPatterns(['a.*', 'b.*', 'c.*'])
      const names = ['a.x', 'b.x', 'c.x']
      const stop = publishing(20, (n) => names[n % 3]!, true)
      await sleep(200)
      const session = await freeze(frozen)
      // long enough for a follower to probe the leader and take its lock, were its timers running,
      // and for the leader to drop a tab that answered none of its rounds
      await sleep(CHECK + GRACE * 1.5 + 500)
      await session.send('Page.setWebLifecycleState', { state: 'active' })
      await sleep(300)
      stop()
      publish(3, (n) => names[n % 3]!, true)
      const wanted = (prefix: string): number[] => range(1, published).filter((n) => names[n % 3]!.startsWith(prefix))
      for (const [i, page] of all.entries()) {
        const mine = wanted('abc'[i]!)
        await expect.poll(() => numbers(page), { timeout: SETTLE }).toEqual(mine)
        expect(await seqs(page)).toEqual(range(1, mine.length))
      }
      await expectEach(all, (s) => {
        expect(s.status).toBe('open')
        expect(s.resyncs).toEqual([])
        expect(s.errors).toEqual([])
      })
      expect((await state(frozen)).lifecycle).toEqual(['freeze', 'resume'])
      // the same leader all along, and one socket
      expect(await socketsOf(all)).toEqual([1, 0, 0])
      expect(server().stats().connections).toBe(1)
      await expect.poll(() => acked.length, { timeout: SETTLE }).toBe(published)
      expect(ackCounts()).toEqual(once(range(1, published)))
      expect((await state(leader)).acks).toEqual(acked)
      session.detach().catch(() => {})
    },
    30_000,
  )

  it(
    'a frozen leader page is replaced: the others take over within CHECK × 1.25 + GRACE × 1.5 (plus a hand-over), and every page gets every event once',
    async () => {
      const leader = await open()
      const others = [await open(), await open()]
      const all = [leader, ...others]
      publish(10)
      const stop = publishing(20)
      await sleep(100)
      const session = await freeze(leader)
      const frozenAt = Date.now()
      // no relay comes from a frozen leader, and it answers no probe: a follower takes the lock
      await expect
        .poll(async () => (await socketsOf(others)).some((n) => n === 1), { timeout: CHECK * 1.25 + GRACE * 1.5 + SETTLE, interval: 50 })
        .toBe(true)
      const before = published
      await expect.poll(async () => (await Promise.all(others.map(seqs))).every((s) => s.includes(before + 1)), { timeout: SETTLE, interval: 20 }).toBe(true)
      figures.frozenLeaderReplaced = Date.now() - frozenAt
      await session.send('Page.setWebLifecycleState', { state: 'active' })
      await sleep(300)
      stop()
      publish(3)
      // the page that led follows now: it too gets every event once
      for (const page of all) await expect.poll(() => seqs(page), { timeout: SETTLE }).toEqual(range(1, published))
      await expectEach(all, (s) => {
        expect(s.status).toBe('open')
        expect(s.resyncs).toEqual([])
        expect(s.stats).toMatchObject({ messages: published, resyncs: 0, reconnects: 1 })
      })
      const s = await state(leader)
      expect(s.lifecycle).toEqual(['freeze', 'resume'])
      expect(s.open).toBe(0)
      await expect.poll(() => server().stats().connections, { timeout: SETTLE }).toBe(1)
      expect(server().stats().sessions).toBe(1)
      session.detach().catch(() => {})
    },
    40_000,
  )
})
