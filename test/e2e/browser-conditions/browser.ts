/**
 * Chromium left to behave as it does for a user, for tests of what the browser does to a page:
 * hiding it, throttling its timers, freezing it.
 *
 * `launchChromium` (test/e2e/chromium.ts) lets Playwright start the browser. Playwright then turns
 * on focus emulation for every page it drives (`Emulation.setFocusEmulationEnabled`), which keeps
 * each page visible and focused whatever happens: a page in a background tab still reads
 * `visibilityState === 'visible'`, and `Page.setWebLifecycleState` cannot freeze it (the call
 * succeeds and nothing happens). Its launch also adds switches that turn background timer
 * throttling off.
 *
 * So this starts Chromium itself, with the shared `CHROMIUM_ARGS` and a DevTools port, and attaches
 * Playwright over CDP with `noDefaults`, which leaves the pages of the browser's default context
 * alone. A page opened after another then really hides it, `bringToFront` shows it again, and a
 * frozen page really stops running timers and tasks.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium } from 'playwright-core'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js'

export interface PlainChromium {
  browser: Browser
  /** The browser's default context: its pages get none of Playwright's emulation. */
  context: BrowserContext
  /** Closes the browser, waits for its process to end and removes its profile; safe to call more than once. */
  close(): Promise<void>
}

/** How long Chromium may take to print its DevTools address, or to exit once asked. */
const PROCESS_TIMEOUT = 15_000

/** Resolves with the `ws://` address Chromium prints on stderr once its DevTools port listens. */
function devToolsAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => fail(new Error(`Chromium printed no DevTools address within ${PROCESS_TIMEOUT} ms:\n${output}`)), PROCESS_TIMEOUT)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output)
      if (match?.[1]) done(() => resolve(match[1]!))
    }
    const onExit = (code: number | null): void => fail(new Error(`Chromium exited (${code}) before listening:\n${output}`))
    const fail = (error: Error): void => done(() => reject(error))
    const done = (settle: () => void): void => {
      clearTimeout(timer)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      child.stderr?.resume() // keep draining what Chromium writes later
      settle()
    }
    child.stderr?.on('data', onData)
    child.on('exit', onExit)
  })
}

/** Launch Chromium with a fresh temporary profile (`prefix` names its directory) and attach to it. */
export async function launchPlainChromium(prefix: string): Promise<PlainChromium> {
  const profile = mkdtempSync(join(tmpdir(), prefix))
  const child = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1', `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  let closed = false
  const close = async (browser?: Browser): Promise<void> => {
    if (closed) return
    closed = true
    if (browser) {
      // ask the browser itself to quit (a CDP client's close() only disconnects)
      await browser
        .newBrowserCDPSession()
        .then((session) => session.send('Browser.close'))
        .catch(() => {})
      await browser.close().catch(() => {})
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT)
    if (!browser) child.kill()
    await exited
    clearTimeout(timer)
    rmSync(profile, { recursive: true, force: true })
  }
  try {
    const address = await devToolsAddress(child)
    const browser = await chromium.connectOverCDP(address, { noDefaults: true, isLocal: true })
    const context = browser.contexts()[0]
    if (!context) throw new Error('Chromium has no default context')
    return { browser, context, close: () => close(browser) }
  } catch (error) {
    await close()
    throw error
  }
}
