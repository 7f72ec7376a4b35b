/**
 * `wirefeed/testing` in a real browser with msw's `setupWorker`: a page script (testing-page.ts,
 * bundled here by esbuild) runs a `RealtimeClient` against `createRealtimeMock`, served by a small
 * node:http server on 127.0.0.1 together with msw's `mockServiceWorker.js`. Published events must
 * reach the page over the mocked WebSocket, and, with WebSocket refused, over polls that only the
 * service worker can answer (the poll URL's host does not exist). Every wait is on a condition in
 * the page.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { repoRoot } from '../package/helpers.js'
import { type Chromium, describeInChromium, launchChromium } from './chromium.js'
import type { PageHarness, PageState } from './testing-page.js'

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>wirefeed/testing</title></head>
<body><script type="module" src="/page.js"></script></body></html>`

/** Bundle the page script for the browser. */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(repoRoot, 'test/e2e/testing-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const [file] = result.outputFiles
  if (!file) throw new Error('esbuild produced no output for testing-page.ts')
  return file.text
}

/** Serve the page, its script and msw's worker script on 127.0.0.1 (a free port); log every path asked for. */
async function serve(pageScript: string, requested: string[]): Promise<{ server: Server; url: string }> {
  const workerScript = readFileSync(join(repoRoot, 'node_modules/msw/lib/mockServiceWorker.js'), 'utf8')
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', HTML],
    '/page.js': ['text/javascript; charset=utf-8', pageScript],
    '/mockServiceWorker.js': ['text/javascript; charset=utf-8', workerScript],
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    requested.push(path)
    const file = files[path]
    if (!file) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1])
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

describeInChromium('wirefeed/testing with msw setupWorker in Chromium', () => {
  let browser: Chromium
  let page: Page
  let http: { server: Server; url: string } | undefined
  const requested: string[] = []
  const pageErrors: string[] = []
  const started = Date.now()
  const timings: Record<string, number> = {}

  /** Run `fn` in the page on its harness (the function's source is sent, so it can use no closure). */
  const call = <R>(fn: (h: PageHarness) => R): Promise<Awaited<R>> => page.evaluate(`(${fn.toString()})(window.harness)`)
  const state = (): Promise<PageState> => page.evaluate(() => window.harness.state())

  /** Wait until the page's state satisfies `predicate` (its source is evaluated in the page); returns the ms it took. */
  async function until(predicate: (s: PageState) => boolean, timeout = 5000): Promise<number> {
    const t0 = Date.now()
    await page.waitForFunction(`(${predicate.toString()})(window.harness.state())`, null, { timeout, polling: 20 })
    return Date.now() - t0
  }

  beforeAll(async () => {
    const [script, chromium] = await Promise.all([bundlePage(), launchChromium('wirefeed-testing-browser-')])
    browser = chromium
    page = browser.page
    page.on('pageerror', (error) => pageErrors.push(error.message))
    http = await serve(script, requested)
    timings.startup = Date.now() - started
    const t0 = Date.now()
    await page.goto(http.url)
    await page.waitForFunction(() => window.harness !== undefined, null, { timeout: 10_000 })
    await page.evaluate(() => window.harness.ready)
    timings.workerReady = Date.now() - t0
  }, 30_000)

  afterAll(async () => {
    await page?.evaluate(() => window.harness?.close()).catch(() => {})
    await browser?.close()
    if (http) await new Promise((resolve) => http?.server.close(resolve))
    timings.total = Date.now() - started
    console.log(`testing-browser timings (ms): ${JSON.stringify(timings)}`)
  }, 20_000)

  it('has the service worker controlling the page', async () => {
    expect((await state()).controlled).toBe(true)
    expect(requested).toContain('/mockServiceWorker.js')
  })

  it('delivers published events over the mocked WebSocket, with seq, and resumes after a drop', async () => {
    await call((h) => h.connect({ polling: false }))
    timings.open = await until((s) => s.status === 'open' && s.subscriptions.includes('alert'))
    expect(await call((h) => h.publish('alert', { id: '1' }))).toEqual([1])
    expect(await call((h) => h.publish('alert', { id: '2' }))).toEqual([2])
    expect(await call((h) => h.publish('host.cpu', 0.5))).toEqual([]) // not subscribed
    timings.delivered = await until((s) => s.events.length === 2)

    await call((h) => h.dropConnection())
    await call((h) => h.publish('alert', { id: '3' })) // buffered while the link is down
    timings.resumed = await until((s) => s.events.length === 3 && s.status === 'open')

    const s = await state()
    expect(s.events).toEqual([
      { seq: 1, event: 'alert', data: { id: '1' } },
      { seq: 2, event: 'alert', data: { id: '2' } },
      { seq: 3, event: 'alert', data: { id: '3' } },
    ])
    expect(s.connections).toBe(2)
    expect(s.received.filter((t) => t === 'hello')).toHaveLength(2)
    expect(s.sent).toEqual(['welcome', 'event', 'event', 'welcome', 'event'])
    expect(s.errors).toEqual([])
    await call((h) => h.close())
  }, 15_000)

  it('falls back to polling through the service worker when WebSocket is refused, then moves back', async () => {
    await call((h) => h.refuseWebSocket(true))
    await call((h) => h.connect({ polling: true }))
    timings.toPolling = await until((s) => s.status === 'polling' && s.polls > 0 && s.subscriptions.includes('alert'))

    await call((h) => h.publish('alert', { id: 'p1' }, { ack: true }))
    // the poll URL's host does not exist: only the service worker can have answered
    timings.polledEvent = await until((s) => s.events.length === 1 && s.status === 'polling')
    // the ack went back by POST, through the worker as well
    await until((s) => s.posts.some((p) => p.messages.some((m) => (m as { type?: string }).type === 'ack')))

    await call((h) => h.refuseWebSocket(false))
    timings.backToWebSocket = await until((s) => s.status === 'open')
    await call((h) => h.publish('alert', { id: 'w2' }))
    await until((s) => s.events.length === 2)

    const s = await state()
    expect(s.events).toEqual([
      { seq: 1, event: 'alert', data: { id: 'p1' } },
      { seq: 2, event: 'alert', data: { id: 'w2' } },
    ])
    expect(s.statuses).toContain('polling')
    expect(s.posts[0]).toEqual({ session: 's-1', messages: [{ type: 'ack', seq: 1 }] })
    expect(s.errors.filter((e) => !e.startsWith('transport'))).toEqual([])
    // every poll GET and POST was answered by msw's service worker
    expect(s.pollRequests.total).toBeGreaterThanOrEqual(2)
    expect(s.pollRequests.throughWorker).toBe(s.pollRequests.total)
    expect(s.errors).toEqual([])
    expect(pageErrors).toEqual([])
    await call((h) => h.close())
  }, 15_000)
})
