/**
 * Chromium for the browser tests: Debian's Chromium driven by playwright-core (no browser
 * download), in a throwaway profile.
 *
 * Chromium: CHROMIUM_PATH or /usr/bin/chromium. Missing, the suites declared with
 * `describeInChromium` are skipped with a loud warning, except under CI=true, where the missing
 * browser is a failing test.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { describe, it } from 'vitest'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH)
const IN_CI = process.env.CI === 'true'
const MISSING = `Chromium not found at ${CHROMIUM_PATH}: browser tests SKIPPED; install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`

if (!HAS_CHROMIUM && !IN_CI) {
  const bar = '!'.repeat(100)
  console.warn(`\n${bar}\n!!  ${MISSING}\n${bar}\n`)
}

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/**
 * A describe block that needs Chromium: skipped (with the warning above) when it is missing, and
 * replaced by one failing test when it is missing under CI=true.
 */
export function describeInChromium(name: string, body: () => void): void {
  if (!HAS_CHROMIUM && IN_CI) {
    describe(name, () => {
      it('has a browser to run in (CI=true)', () => {
        throw new Error(MISSING.replace('browser tests SKIPPED', 'CI=true requires the browser tests'))
      })
    })
  }
  describe.skipIf(!HAS_CHROMIUM)(name, body)
}

export interface Chromium {
  context: BrowserContext
  /** The context's first page. */
  page: Page
  /** Closes the browser and removes its profile; safe to call more than once. */
  close(): Promise<void>
}

/** Launch Chromium with a fresh temporary profile. `prefix` names the profile directory. */
export async function launchChromium(prefix: string, viewport = { width: 1280, height: 800 }): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), prefix))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport })
  } catch (error) {
    rmSync(profile, { recursive: true, force: true })
    throw error
  }
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {})
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
