/**
 * Takes examples/dashboard/screenshot.png (1280×800) of the live demo in headless Chromium:
 * the page goes live, one dropped connection is recovered, and the feed fills up.
 *
 *   npm run screenshot      # builds first; CHROMIUM_PATH overrides /usr/bin/chromium
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { startDemo } from './server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, 'screenshot.png')
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

if (!existsSync(executablePath)) {
  console.error(`Chromium not found at ${executablePath}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`)
  process.exit(1)
}

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

const demo = await startDemo({ quiet: true })
const profile = mkdtempSync(join(tmpdir(), 'wirefeed-screenshot-'))
let context
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const count = () => document.querySelectorAll('[data-testid="feed-item"]').length
  await page.goto(demo.url)
  await page.waitForFunction(() => document.querySelector('[data-testid="status-badge"]')?.dataset.status === 'open', null, { timeout: 15_000 })
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="feed-item"]').length >= n, 8, { timeout: 15_000 })
  // One fault, so that the log and the counters show a recovery.
  await page.getByTestId('fault-drop').click()
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-reconnects"]')?.textContent === '1', null, { timeout: 15_000 })
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="feed-item"]').length >= n, 30, { timeout: 20_000 })
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-rtt"]')?.textContent !== '—', null, { timeout: 15_000 })
  await page.mouse.move(0, 0)
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur())
  await page.screenshot({ path: out, animations: 'disabled' })
  console.log(`wrote ${out} (${await page.evaluate(count)} events in the feed)`)
} finally {
  await context?.close()
  await demo.close()
  rmSync(profile, { recursive: true, force: true })
}
