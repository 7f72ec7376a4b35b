/**
 * The live demo (examples/dashboard) in a real browser: Debian's Chromium driven by playwright-core
 * (no browser download). The demo runs in-process with short timings; the test clicks the page's
 * fault buttons and waits on what the page shows, never on fixed sleeps. At the end, with the event
 * source paused, the page's own continuity check (computed from meta.seq) must read 0 lost and 0
 * duplicated, and the server's counters must agree with what the page received.
 *
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium. Missing, these tests are skipped with a warning,
 * except under CI=true, where the missing browser is a failure.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../examples/dashboard/server.mjs'
import { type Chromium, describeInChromium, launchChromium } from './chromium.js'

/** Demo timings for the test: every fault resolves within a second or two. */
const UPGRADE_INTERVAL = 2000
const HEARTBEAT = { interval: 1000, timeout: 1500 }
const DEMO_OPTIONS = {
  quiet: true,
  eventInterval: 100,
  client: {
    reconnect: { minDelay: 100, maxDelay: 400, maxAttempts: 3, connectTimeout: 3000 },
    heartbeat: HEARTBEAT,
    polling: { interval: 500, wait: 5000, upgradeInterval: UPGRADE_INTERVAL },
    replay: { timeout: 3000 },
  },
}

describeInChromium('live demo in Chromium', () => {
  let demo: Demo
  let page: Page
  let browser: Chromium
  const pageErrors: string[] = []
  const started = Date.now()
  const timings: Record<string, number> = {}

  // ---- reading the page ----

  const number = async (testid: string): Promise<number> => Number(await page.getByTestId(testid).textContent())

  async function waitForStatus(status: string, timeout: number): Promise<number> {
    const t0 = Date.now()
    await page.waitForFunction((s) => document.querySelector('[data-testid="status-badge"]')?.getAttribute('data-status') === s, status, {
      timeout,
      polling: 25,
    })
    return Date.now() - t0
  }

  async function waitForAtLeast(testid: string, n: number, timeout: number): Promise<void> {
    await page.waitForFunction(([id, min]) => Number(document.querySelector(`[data-testid="${id}"]`)?.textContent) >= min, [testid, n] as const, {
      timeout,
      polling: 25,
    })
  }

  /** Log entries of one kind, oldest first (the log keeps the latest 40; each has a running index). */
  async function logEntries(kind: string): Promise<{ index: number; status: string | undefined; reason: string | undefined; text: string }[]> {
    return page.evaluate((k) => {
      const rows = Array.from(document.querySelectorAll<HTMLElement>(`[data-testid="log-entry"][data-kind="${k}"]`))
      return rows
        .map((r) => ({ index: Number(r.dataset.index), status: r.dataset.status, reason: r.dataset.reason, text: r.textContent ?? '' }))
        .sort((a, b) => a.index - b.index)
    }, kind)
  }

  const lastLogIndex = (): Promise<number> =>
    page.evaluate(() => Math.max(0, ...Array.from(document.querySelectorAll<HTMLElement>('[data-testid="log-entry"]')).map((r) => Number(r.dataset.index))))

  /** The feed, newest first. */
  const feed = (): Promise<{ seq: number; event: string }[]> =>
    page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('[data-testid="feed-item"]')).map((r) => ({ seq: Number(r.dataset.seq), event: r.dataset.event ?? '' })),
    )

  beforeAll(async () => {
    demo = await startDemo(DEMO_OPTIONS)
    browser = await launchChromium('wirefeed-browser-test-')
    page = browser.page
    page.on('pageerror', (error) => pageErrors.push(error.message))
    timings.startup = Date.now() - started
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await demo?.close()
    timings.total = Date.now() - started
    console.log(`browser test timings (ms): ${JSON.stringify(timings)}`)
  }, 20_000)

  it('goes Live, shows events and updates the counters', async () => {
    await page.goto(demo.url)
    timings.live = await waitForStatus('open', 10_000)
    expect(await page.getByTestId('status-badge').textContent()).toBe('Live')
    await waitForAtLeast('continuity-delivered', 5, 5000)
    await waitForAtLeast('stat-messages', 5, 5000)
    expect(await page.getByTestId('feed-item').count()).toBeGreaterThanOrEqual(5)
    expect(await page.getByTestId('stat-transport').textContent()).toBe('websocket')
    // the heartbeat has answered once: a round trip is shown
    await page.waitForFunction(() => /\d+ ms/.test(document.querySelector('[data-testid="stat-rtt"]')?.textContent ?? ''), null, { timeout: 5000 })
    // the server panel follows the server
    await waitForAtLeast('server-published', 5, 5000)
    expect(await number('server-sessions')).toBe(1)
  }, 20_000)

  it('toggles a subscription off and on', async () => {
    const host = page.getByTestId('sub-host')
    const seqAt = async (): Promise<number> => (await feed())[0]?.seq ?? 0
    // The server stops sending host events once it has read the unsubscribe; the page (a tab that
    // shares its connection) drops any already on their way, which the server counted as
    // delivered. So the source pauses until the server has surely read it: with nothing published,
    // the server sends only pongs, and the second pong after the click answers a ping sent after
    // the unsubscribe (one every HEARTBEAT.interval, on the same socket).
    demo.pause(true)
    await host.uncheck()
    const sent = demo.state().server.messagesSent
    await expect.poll(() => demo.state().server.messagesSent, { timeout: HEARTBEAT.interval * 3 + 2000, interval: 20 }).toBeGreaterThanOrEqual(sent + 2)
    const off = await seqAt()
    demo.pause(false)
    await page.waitForFunction(
      (from) => Array.from(document.querySelectorAll<HTMLElement>('[data-testid="feed-item"]')).filter((r) => Number(r.dataset.seq) > from).length >= 10,
      off,
      { timeout: 10_000, polling: 25 },
    )
    const after = (await feed()).filter((e) => e.seq > off)
    expect(after.filter((e) => e.event.startsWith('host.'))).toEqual([])
    expect(after.length).toBeGreaterThanOrEqual(10)

    await host.check()
    const on = await seqAt()
    await page.waitForFunction(
      (from) => Array.from(document.querySelectorAll<HTMLElement>('[data-testid="feed-item"]')).some((r) => Number(r.dataset.seq) > from && r.dataset.event?.startsWith('host.')),
      on,
      { timeout: 10_000, polling: 25 },
    )
  }, 25_000)

  it('falls back to polling when WebSocket is refused, and events keep arriving', async () => {
    await page.getByTestId('fault-refuse').click()
    await expect.poll(() => demo.state().refusing).toBe(true)
    await page.getByTestId('fault-drop').click()
    timings.toPolling = await waitForStatus('polling', 10_000)
    expect(await page.getByTestId('status-badge').textContent()).toBe('Polling')
    const before = await number('continuity-delivered')
    await waitForAtLeast('continuity-delivered', before + 10, 10_000)
    expect(await page.getByTestId('status-badge').getAttribute('data-status')).toBe('polling')
    expect(await page.getByTestId('stat-transport').textContent()).toBe('polling')
  }, 25_000)

  it('moves back to Live within the upgrade interval once WebSocket is allowed again', async () => {
    await page.getByTestId('fault-allow').click()
    timings.backToLive = await waitForStatus('open', UPGRADE_INTERVAL + 3000)
    expect(timings.backToLive).toBeLessThanOrEqual(UPGRADE_INTERVAL + 1500)
    expect(await page.getByTestId('status-badge').textContent()).toBe('Live')
    const before = await number('continuity-delivered')
    await waitForAtLeast('continuity-delivered', before + 5, 5000)
    expect(await page.getByTestId('stat-transport').textContent()).toBe('websocket')
  }, 15_000)

  it('reports exactly one resync when the server restarts', async () => {
    expect(await number('continuity-resyncs')).toBe(0)
    const t0 = Date.now()
    await page.getByTestId('fault-restart').click()
    await waitForAtLeast('continuity-resyncs', 1, 10_000)
    await waitForStatus('open', 10_000)
    timings.restart = Date.now() - t0
    const before = await number('continuity-delivered')
    await waitForAtLeast('continuity-delivered', before + 10, 10_000)
    expect(await number('continuity-resyncs')).toBe(1)
    expect(await number('stat-resyncs')).toBe(1)
    const resyncs = await logEntries('resync')
    expect(resyncs.map((r) => r.reason)).toEqual(['new_session'])
    expect(demo.state().restarts).toBe(1)
  }, 25_000)

  it('notices a half-open link through the heartbeat: Reconnecting, then Live again', async () => {
    const mark = await lastLogIndex()
    const replayed = await number('stat-replayed')
    const reconnects = await number('stat-reconnects')
    const t0 = Date.now()
    await page.getByTestId('fault-silent').click()
    const limit = HEARTBEAT.interval + HEARTBEAT.timeout + 5000
    await page.waitForFunction(
      (from) =>
        Array.from(document.querySelectorAll<HTMLElement>('[data-testid="log-entry"][data-kind="status"]')).some(
          (r) => Number(r.dataset.index) > from && r.dataset.status === 'reconnecting',
        ),
      mark,
      { timeout: limit, polling: 25 },
    )
    timings.silentDetected = Date.now() - t0
    await waitForStatus('open', 10_000)
    timings.silentRecovered = Date.now() - t0
    const statuses = (await logEntries('status')).filter((e) => e.index > mark).map((e) => e.status)
    expect(statuses).toEqual(['reconnecting', 'open'])
    expect(demo.state().silent).toBe(false)
    expect(await number('stat-reconnects')).toBe(reconnects + 1)
    // what the server held back while silent came through the replay on resume
    await waitForAtLeast('stat-replayed', replayed + 1, 5000)
  }, 25_000)

  it('ends with 0 lost and 0 duplicated, and the server agrees with the page', async () => {
    await page.getByTestId('source-pause').click()
    await expect.poll(() => demo.state().paused).toBe(true)
    // Quiescent: wait until the page has every event the server issued (the difference reaches 0).
    const behind = async (): Promise<number> => demo.state().server.delivered - (await number('continuity-delivered'))
    try {
      await expect.poll(behind, { timeout: 10_000, interval: 50 }).toBe(0)
    } catch (error) {
      const tiles = ['continuity-delivered', 'continuity-lost', 'continuity-duplicated', 'stat-messages', 'stat-duplicates', 'stat-replayed', 'stat-gaps', 'stat-reconnects']
      const tilesNow = Object.fromEntries(await Promise.all(tiles.map(async (t) => [t, await number(t)] as const)))
      const log = await page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="log-entry"]'), (r) => r.textContent).slice(0, 40))
      console.log(`quiescence not reached: ${JSON.stringify({ page: tilesNow, server: demo.state(), log })}`)
      throw error
    }

    const state = demo.state()
    const delivered = await number('continuity-delivered')
    const measured = {
      published: state.published,
      serverPublished: state.server.published,
      serverDelivered: state.server.delivered,
      delivered,
      lost: await number('continuity-lost'),
      duplicated: await number('continuity-duplicated'),
      resyncs: await number('continuity-resyncs'),
      clientMessages: await number('stat-messages'),
      clientDuplicatesDropped: await number('stat-duplicates'),
      reconnects: await number('stat-reconnects'),
      replayed: await number('stat-replayed'),
      gaps: await number('stat-gaps'),
    }
    console.log(`browser test measured: ${JSON.stringify(measured)}`)

    expect(measured.lost).toBe(0)
    expect(measured.duplicated).toBe(0)
    expect(measured.resyncs).toBe(1)
    expect(measured.clientMessages).toBe(delivered)
    expect(measured.serverPublished).toBe(measured.published)
    expect(measured.serverDelivered).toBe(delivered)
    // With every pattern subscribed but for a few seconds, nearly everything published reached the page.
    expect(delivered).toBeGreaterThan(measured.published / 2)
    expect(await page.getByTestId('continuity-lost-tile').getAttribute('class')).toContain('good')
    expect((await logEntries('resync')).length).toBe(1)
    expect(pageErrors).toEqual([])
  }, 20_000)
})
