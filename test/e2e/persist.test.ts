/**
 * `persist: 'session'` in Chromium: a page reloaded while events are published resumes its
 * session, and its first event is the one after the last event the page received before it was
 * left: nothing is lost, nothing is repeated, no `resync`.
 *
 * The page (test/e2e/persist/app.ts) is bundled from the built package (dist/) and served with the
 * reference server by one node:http server on loopback. It logs what each load received in
 * sessionStorage, which a reload keeps. The test publishes every few ms, from before the reload
 * until after the reloaded page has received events of its own, and checks that every publish
 * reached exactly one session. The control case, without `persist`, shows what the reload does
 * otherwise: a second session, whose seqs start at 1 again.
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
import type { LoadLog } from './persist/app.js'
import { bundlePageApp } from './page-app.js'

const WS_PATH = '/ws/events'
/** The page's own log (test/e2e/persist/app.ts). */
const LOG_KEY = 'persist-test:loads'
const RECORD_KEY = (port: number): string => `wirefeed:ws://127.0.0.1:${port}${WS_PATH} `

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>wirefeed: resume across a reload</title>
<script type="module" src="/app.js"></script></head><body></body></html>`

const bundleApp = async (): Promise<string> => (await bundlePageApp('test/e2e/persist/app.ts')).code

/** One node:http server on 127.0.0.1 (a free port): the page and its script, with the reference server attached. */
async function serve(app: string): Promise<{ http: Server; rt: RealtimeServer; port: number }> {
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(HTML)
    else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(app)
    else res.writeHead(404).end()
  })
  const rt = createRealtimeServer({ server: http, path: WS_PATH })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { http, rt, port: (http.address() as AddressInfo).port }
}

/** from..to */
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describeInChromium('resume across a page reload (persist: session) in Chromium', () => {
  let browser: Chromium | undefined
  let served: { http: Server; rt: RealtimeServer; port: number } | undefined
  /** A fresh tab per case: sessionStorage belongs to the tab. */
  let page: Page | undefined
  let pageErrors: string[] = []
  let publisher: ReturnType<typeof setInterval> | undefined

  const loads = (): Promise<LoadLog[]> => page!.evaluate(() => window.persistPage?.loads() ?? [])

  /** Wait until the page's log satisfies `predicate` (checked here, in Node); fails with the last log seen. */
  async function until(predicate: (l: LoadLog[]) => boolean, timeout = 10_000): Promise<LoadLog[]> {
    const end = Date.now() + timeout
    for (;;) {
      // a page that is being reloaded has no context to evaluate in for a moment
      const l = await loads().catch(() => [])
      if (predicate(l)) return l
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${predicate.toString()}; log: ${JSON.stringify(l)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /**
   * Open the page, publish every 3 ms, reload the page once it has received `before` events, and
   * stop publishing once the reloaded page has received `after` events of its own. Returns the
   * log of both loads, once the reloaded page has everything, and how many sessions each publish
   * reached.
   */
  async function reloadWhilePublishing(persist: boolean, before = 30, after = 30): Promise<{ log: LoadLog[]; reached: number[] }> {
    const { rt } = served!
    page = await browser!.context.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.goto(`http://127.0.0.1:${served!.port}/?persist=${persist ? 1 : 0}`)
    await page.waitForFunction(() => window.persistPage?.status() === 'open', null, { timeout: 5000 })
    const reached: number[] = []
    publisher = setInterval(() => reached.push(rt.publish('tick', { n: reached.length + 1 })), 3)
    await until((l) => (l[0]?.seqs.length ?? 0) >= before)
    await page.reload()
    await until((l) => (l[1]?.seqs.length ?? 0) >= after)
    clearInterval(publisher)
    publisher = undefined
    const log = await until((l) => l[1]?.seqs.at(-1) === (persist ? reached.length : reached.filter((n) => n === 2).length))
    return { log, reached }
  }

  beforeAll(async () => {
    assertBuilt()
    const [app, chromium] = await Promise.all([bundleApp(), launchChromium('wirefeed-persist-test-')])
    browser = chromium
    served = await serve(app)
  }, 30_000)

  afterEach(async () => {
    clearInterval(publisher)
    publisher = undefined
    await page?.evaluate(() => window.persistPage?.close()).catch(() => {})
    await page?.close()
    page = undefined
    pageErrors = []
    served?.rt.forgetSessions()
  })

  afterAll(async () => {
    await browser?.close()
    if (served) {
      const { http, rt } = served
      await rt.close()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    }
  }, 20_000)

  it('the reloaded page resumes the session: its first event is the one after the last the page received before, with no resync', async () => {
    const { log, reached } = await reloadWhilePublishing(true)
    expect(log).toHaveLength(2)
    const [first, second] = log as [LoadLog, LoadLog]
    const last = first.seqs.at(-1)!
    // every event once, in order, across the reload
    expect(first.seqs).toEqual(range(1, last))
    expect(second.seqs[0]).toBe(last + 1)
    expect(second.seqs).toEqual(range(last + 1, reached.length))
    expect([...first.seqs, ...second.seqs]).toEqual(range(1, reached.length))
    // mid-stream: what was published while no page held the session came as the resumed session's replay
    expect((await page!.evaluate(() => window.persistPage.stats())).replayed).toBeGreaterThan(0)
    // one session all along: every event reached exactly one
    expect(reached.every((n) => n === 1)).toBe(true)
    expect(first.resyncs).toEqual([])
    expect(second.resyncs).toEqual([])
    expect(first.errors).toEqual([])
    expect(second.errors).toEqual([])
    expect(pageErrors).toEqual([])
    // the running page took the client's record: a tab duplicated now would copy none
    expect(await page!.evaluate(() => window.persistPage.keys())).toEqual([LOG_KEY])
    // leaving the page writes it again, with the last seq delivered
    await page!.evaluate(() => window.persistPage.close())
    const stored = await page!.evaluate((key) => sessionStorage.getItem(key), RECORD_KEY(served!.port))
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ last: reached.length })
  })

  it('control, without persist: the reloaded page starts a second session, from seq 1, and the first page’s session is left behind', async () => {
    const { log, reached } = await reloadWhilePublishing(false)
    expect(log).toHaveLength(2)
    const [first, second] = log as [LoadLog, LoadLog]
    expect(first.seqs).toEqual(range(1, first.seqs.length))
    expect(second.seqs[0]).toBe(1)
    // once the reloaded page's session exists, each event reaches two sessions (the old one is kept for its lifetime)
    expect(reached.filter((n) => n === 2).length).toBe(second.seqs.at(-1))
    expect(first.resyncs).toEqual([])
    expect(second.resyncs).toEqual([])
    expect(pageErrors).toEqual([])
    expect(await page!.evaluate(() => window.persistPage.keys())).toEqual([LOG_KEY])
  })
})
