/**
 * wirefeed under a strict Content-Security-Policy, in Chromium. The page's only script is an app
 * (test/e2e/csp/app.ts) bundled by esbuild from the built package (dist/index.js) and classic zod,
 * served by the same node:http server as the reference server, with `script-src 'self'` and
 * neither 'unsafe-eval' nor 'unsafe-inline'. The app's first module records every
 * `securitypolicyviolation`; the test publishes with the server's API and reads what the page
 * received, over WebSocket and over the HTTP polling fallback.
 *
 * zod v4 compiles object parsers with `new Function` when it may. It first probes `new Function('')`
 * inside a try/catch, once per page; `z.config({ jitless: true })` skips the probe. Chromium reports
 * the probe as a violation although zod catches it, and zod then validates without compiling.
 *
 * The app starts itself from its query string. Code run through `page.evaluate` is exempt from the
 * CSP's ban on `eval` in Chromium (DevTools evaluations are), so a client or schema created there
 * would not be tested under the policy at all: zod's probe would pass, and every later parse, in the
 * page's own tasks, would throw EvalError.
 *
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium. Missing, these tests are skipped with a warning,
 * except under CI=true, where the missing browser is a failure.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createRealtimeServer, type RealtimeServer } from '../../src/server/index.js'
import { assertBuilt } from '../package/helpers.js'
import { type Chromium, describeInChromium, launchChromium } from './chromium.js'
import type { PageState, StartOptions } from './csp/app.js'
import { bundlePageApp } from './page-app.js'

const WS_PATH = '/ws/events'
const POLL_PATH = '/api/events'

/** Scripts from the page's origin only: no 'unsafe-eval', no 'unsafe-inline'; connections to the origin. */
const csp = (port: number): string =>
  `default-src 'none'; script-src 'self'; connect-src 'self' ws://127.0.0.1:${port} http://127.0.0.1:${port}; base-uri 'none'; form-action 'none'`

/** No inline script: the bundle is the page's only script. */
const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>wirefeed under a strict CSP</title>
<script type="module" src="/app.js"></script></head><body></body></html>`

const bundleApp = (): Promise<{ code: string; inputs: string[] }> => bundlePageApp('test/e2e/csp/app.ts')

/** One node:http server on 127.0.0.1 (a free port): the page and its script, with the reference server attached. */
async function serve(app: string): Promise<{ http: Server; rt: RealtimeServer; url: string }> {
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    const port = (http.address() as AddressInfo).port
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp(port), 'cache-control': 'no-store' }).end(HTML)
    } else if (path === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(app)
    } else {
      res.writeHead(404).end()
    }
  })
  const rt = createRealtimeServer({ server: http, path: WS_PATH, pollPath: POLL_PATH })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { http, rt, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/` }
}

/** What Chromium reports for a blocked `eval` or `new Function`. */
const EVAL_VIOLATION = expect.objectContaining({
  violatedDirective: 'script-src',
  effectiveDirective: 'script-src',
  blockedURI: 'eval',
  disposition: 'enforce',
  sourceFile: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/app\.js$/),
})

describeInChromium('wirefeed under a strict Content-Security-Policy in Chromium', () => {
  let browser: Chromium | undefined
  let page: Page
  let served: { http: Server; rt: RealtimeServer; url: string } | undefined
  let inputs: string[] = []
  /** Uncaught errors of the current page load. */
  let pageErrors: string[] = []

  const rt = (): RealtimeServer => {
    if (!served) throw new Error('server not started')
    return served.rt
  }
  const state = (): Promise<PageState> => page.evaluate(() => window.cspPage.state())

  /** Wait until the page's state satisfies `predicate` (checked here, in Node); fails with the last state seen. */
  async function until(predicate: (s: PageState) => boolean, timeout = 5000): Promise<PageState> {
    const end = Date.now() + timeout
    for (;;) {
      const s = await state()
      if (predicate(s)) return s
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${predicate.toString()}; page state: ${JSON.stringify(s)}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /**
   * A fresh page load (fresh zod settings) against a fresh server side. The page starts its client
   * itself, from the query string: never from `page.evaluate`, which Chromium exempts from the
   * CSP's ban on `eval`.
   */
  async function load(options: StartOptions): Promise<void> {
    if (!served) throw new Error('server not started')
    await page.evaluate(() => window.cspPage?.close()).catch(() => {})
    served.rt.forgetSessions()
    served.rt.refuseWebSocket(options.polling)
    pageErrors = []
    const response = await page.goto(`${served.url}?mode=${options.mode}&polling=${options.polling ? 1 : 0}`)
    const header = response?.headers()['content-security-policy'] ?? ''
    expect(header).toContain("script-src 'self';")
    expect(header).not.toContain('unsafe')
    await page.waitForFunction(() => window.cspPage !== undefined, null, { timeout: 5000 })
    expect(await page.evaluate(() => window.cspPage.options)).toEqual(options)
  }

  /**
   * The control of every case: the page really has no 'unsafe-eval' (its own `new Function`, run in
   * a task of its own, throws EvalError), and the page's listener reports that as one more violation.
   */
  async function expectEvalBlocked(): Promise<void> {
    const before = (await state()).violations.length
    await page.evaluate(() => window.cspPage.checkEval())
    const s = await until((x) => x.evalCheck !== null && x.violations.length > before)
    expect(s.evalCheck).toBe('EvalError')
    expect(s.violations.slice(before)).toEqual([EVAL_VIOLATION])
  }

  /** Publish to the one session the page holds: each event must reach exactly one session. */
  function publish(...items: unknown[]): void {
    for (const data of items) expect(rt().publish('alert', data)).toBe(1)
  }

  /** Cases 2 and 3: valid events arrive as zod's output, an invalid one is one `schema` error, and delivery goes on. */
  async function expectSchemaDelivery(): Promise<PageState> {
    await until((s) => s.status === 'open')
    publish(
      { id: 'a1', severity: 'high', extra: true }, // unknown key: stripped
      { id: 'a2' }, // missing severity: defaulted
      { id: 3, severity: 'high' }, // invalid
      { id: 'a4', severity: 'low' },
    )
    const s = await until((x) => x.events.some((e) => e.seq === 4))
    expect(s.events).toEqual([
      { seq: 1, event: 'alert', data: { id: 'a1', severity: 'high' } },
      { seq: 2, event: 'alert', data: { id: 'a2', severity: 'low' } },
      { seq: 4, event: 'alert', data: { id: 'a4', severity: 'low' } },
    ])
    expect(s.errors).toEqual([{ code: 'schema', event: 'alert', seq: 3, cause: undefined }])
    expect(s.statuses).toEqual(['connecting', 'open'])
    expect(s.transport).toBe('websocket')
    expect(pageErrors).toEqual([])
    return s
  }

  beforeAll(async () => {
    assertBuilt()
    const [app, chromium] = await Promise.all([bundleApp(), launchChromium('wirefeed-csp-test-')])
    browser = chromium
    page = chromium.page
    inputs = app.inputs
    page.on('pageerror', (error) => pageErrors.push(error.message))
    served = await serve(app.code)
  }, 30_000)

  afterAll(async () => {
    await page?.evaluate(() => window.cspPage?.close()).catch(() => {})
    await browser?.close()
    if (served) {
      const { http, rt: server } = served
      await server.close()
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    }
  }, 20_000)

  it('runs an app bundled from the built package (dist/) and classic zod', () => {
    expect(inputs).toContain('dist/index.js')
    expect(inputs.filter((f) => f.startsWith('src/'))).toEqual([])
    expect(inputs.some((f) => f.startsWith('node_modules/zod/v4/classic/'))).toBe(true)
  })

  it('without a payload schema: every event arrives once and in order, with no violation', async () => {
    await load({ mode: 'plain', polling: false })
    await until((s) => s.status === 'open')
    const N = 20
    publish(...Array.from({ length: N }, (_, i) => ({ id: `e${i + 1}`, n: i + 1 })))
    const s = await until((x) => x.events.some((e) => e.seq === N))
    expect(s.events).toEqual(Array.from({ length: N }, (_, i) => ({ seq: i + 1, event: 'alert', data: { id: `e${i + 1}`, n: i + 1 } })))
    expect(s.statuses).toEqual(['connecting', 'open'])
    expect(s.errors).toEqual([])
    expect(s.violations).toEqual([])
    expect(pageErrors).toEqual([])
    await expectEvalBlocked()
  })

  it('with a classic zod schema and z.config({ jitless: true }): validated delivery, with no violation', async () => {
    await load({ mode: 'zod-jitless', polling: false })
    const s = await expectSchemaDelivery()
    expect(s.violations).toEqual([])
    await expectEvalBlocked()
  })

  it('with a classic zod schema and default settings: zod falls back, and its eval probe is reported once', async () => {
    await load({ mode: 'zod', polling: false })
    const s = await expectSchemaDelivery()
    // zod's `new F("")` probe, caught by zod, is still reported by Chromium
    expect(s.violations).toEqual([EVAL_VIOLATION])
    await expectEvalBlocked()
  })

  it('over the HTTP polling fallback: events arrive, with no violation', async () => {
    await load({ mode: 'plain', polling: true })
    await until((s) => s.status === 'polling' && s.transport === 'polling')
    publish({ id: 'p1' }, { id: 'p2' }, { id: 'p3' })
    const s = await until((x) => x.events.some((e) => e.seq === 3))
    expect(s.events).toEqual([1, 2, 3].map((seq) => ({ seq, event: 'alert', data: { id: `p${seq}` } })))
    // one refused WebSocket attempt (maxAttempts: 1), then the fallback; never open
    expect(s.statuses).toEqual(['connecting', 'polling'])
    expect(s.errors).toEqual([])
    expect(s.violations).toEqual([])
    expect(pageErrors).toEqual([])
    await expectEvalBlocked()
  })
})
