/**
 * `shareAcrossTabs` in real Chromium: several pages of one browser context (one origin, so one
 * set of Web Locks and BroadcastChannels) run the app of test/e2e/tabs/app.ts, bundled from the
 * built package, against the reference server served with it by one node:http server on
 * loopback. The server's stats count the sockets; a `filter` hook reports the session's patterns.
 *
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium. Missing, these tests are skipped with a warning,
 * except under CI=true, where the missing browser is a failure.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createRealtimeServer, type RealtimeServer } from '../../src/server/index.js'
import { assertBuilt } from '../package/helpers.js'
import { type Chromium, describeInChromium, launchChromium } from './chromium.js'
import type { TabsPageState } from './tabs/app.js'
import { bundlePageApp } from './page-app.js'

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>wirefeed: one connection per browser</title>
<script type="module" src="/app.js"></script></head><body></body></html>`

const bundleApp = async (): Promise<string> => (await bundlePageApp('test/e2e/tabs/app.ts')).code

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describeInChromium('shareAcrossTabs in Chromium: one socket for the pages of a browser', () => {
  let chromium: Chromium | undefined
  let http: Server | undefined
  let rt: RealtimeServer
  let url = ''
  let pages: Page[] = []
  /** The patterns of each session the `a.probe` event was offered to (it is never delivered). */
  let probed: string[][] = []

  beforeAll(async () => {
    assertBuilt()
    const [app, browser] = await Promise.all([bundleApp(), launchChromium('wirefeed-tabs-test-')])
    chromium = browser
    http = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
      if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(HTML)
      else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(app)
      else res.writeHead(404).end()
    })
    rt = createRealtimeServer({
      server: http,
      path: '/ws/events',
      filter: (session, event) => {
        if (event !== 'a.probe') return true
        probed.push([...session.patterns].sort())
        return false
      },
    })
    await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`
  }, 30_000)

  afterEach(async () => {
    for (const page of pages) await page.close().catch(() => {})
    pages = []
    await expect.poll(() => rt.stats().connections).toBe(0)
    rt.forgetSessions()
  })

  afterAll(async () => {
    await chromium?.close()
    await rt?.close()
    http?.closeAllConnections()
    await new Promise((resolve) => http?.close(resolve))
  }, 20_000)

  /** Open a page and start its client; resolves once it is `open`. */
  async function open(subscribe: string[] = []): Promise<Page> {
    if (!chromium) throw new Error('browser not started')
    const page = await chromium.context.newPage()
    pages.push(page)
    await page.goto(url)
    await page.evaluate((s) => window.tabsPage.start(s), subscribe)
    await expect.poll(() => state(page).then((s) => s.status)).toBe('open')
    return page
  }

  const state = (page: Page): Promise<TabsPageState> => page.evaluate(() => window.tabsPage.state())
  const seqs = async (page: Page): Promise<number[]> => (await state(page)).events.map((e) => e.seq)

  it('three pages share one socket, and each delivers every event', async () => {
    const all = [await open(), await open(), await open()]
    expect(rt.stats().connections).toBe(1)
    for (let i = 1; i <= 10; i++) rt.publish('tick', { i })
    for (const page of all) await expect.poll(() => seqs(page)).toEqual(range(1, 10))
    for (const page of all) {
      const s = await state(page)
      expect(s.stats).toMatchObject({ messages: 10, resyncs: 0, transport: 'websocket' })
      expect(s.resyncs).toEqual([])
      expect(s.errors).toEqual([])
    }
    expect(rt.stats().connections).toBe(1)
  })

  it('the subscriptions of the pages combine on the server; each page gets only what it subscribed to', async () => {
    const a = await open(['a.*'])
    const b = await open(['b.*'])
    await expect
      .poll(() => {
        probed = []
        rt.publish('a.probe', 0)
        return probed.at(-1)
      })
      .toEqual(['a.*', 'b.*'])
    rt.publish('a.one', 1)
    rt.publish('b.one', 2)
    rt.publish('c.one', 3)
    rt.publish('b.two', 4)
    await expect.poll(async () => (await state(b)).events.map((e) => e.event)).toEqual(['b.one', 'b.two'])
    expect((await state(a)).events.map((e) => e.event)).toEqual(['a.one'])
    expect(rt.stats().connections).toBe(1)
  })

  it('closing the leader page hands over: every remaining page gets every event once, in order, with no resync', async () => {
    const leader = await open()
    const others = [await open(), await open()]
    expect(rt.stats().connections).toBe(1)
    let n = 0
    for (; n < 20; ) rt.publish('tick', { i: ++n })
    // publish all along the hand-over
    const timer = setInterval(() => rt.publish('tick', { i: ++n }), 5)
    await new Promise((r) => setTimeout(r, 50))
    await leader.close()
    pages = pages.filter((p) => p !== leader)
    await new Promise((r) => setTimeout(r, 300))
    clearInterval(timer)
    for (let i = 0; i < 5; i++) rt.publish('tick', { i: ++n })
    for (const page of others) await expect.poll(() => seqs(page)).toEqual(range(1, n))
    for (const page of others) {
      const s = await state(page)
      expect(s.status).toBe('open')
      expect(s.resyncs).toEqual([])
      expect(s.errors).toEqual([])
      expect(s.stats).toMatchObject({ messages: n, resyncs: 0, reconnects: 1, transport: 'websocket' })
    }
    expect(rt.stats().connections).toBe(1)
    expect(rt.stats().sessions).toBe(1)
  })
})
