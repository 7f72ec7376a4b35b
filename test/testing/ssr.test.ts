/**
 * `wirefeed/testing` is safe to import where there is no DOM (server-side rendering, plain Node):
 * importing it reads no browser global and throws nothing. Checked twice: in this test process
 * (vitest's node environment), and in a fresh Node process that imports a bundle of the module with
 * traps on the browser globals, so that any read of them at import time is seen.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import { repoRoot, run } from '../package/helpers.js'

const BROWSER_GLOBALS = ['window', 'document', 'self', 'location', 'navigator', 'localStorage', 'sessionStorage', 'addEventListener', 'WebSocket', 'fetch']

/** Runs in the child: msw first (its own import is not what is checked), then traps, then the module. */
const CHECK = `
await import('msw')
const touched = []
for (const name of ${JSON.stringify(BROWSER_GLOBALS)}) {
  const had = Object.getOwnPropertyDescriptor(globalThis, name)
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      touched.push(name)
      return had && ('value' in had ? had.value : had.get?.call(globalThis))
    },
  })
}
const testing = await import('./testing.mjs')
const atImport = [...touched]
const mock = testing.createRealtimeMock({ url: 'wss://api.example.test/ws/events', pollUrl: 'https://api.example.test/api/events' })
console.log(JSON.stringify({ exports: Object.keys(testing), atImport, handlers: mock.handlers.length, hasWindow: 'window' in globalThis && globalThis.window !== undefined }))
`

describe('wirefeed/testing without a DOM', () => {
  // under node_modules, so that the bundle's `import 'msw'` resolves to the repo's msw
  const cache = join(repoRoot, 'node_modules', '.cache')
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(join(cache, 'wirefeed-testing-ssr-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('imports in this Node process, which has no window or document', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined')
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined')
    const testing = await import('../../src/testing/index.js')
    expect(typeof testing.createRealtimeMock).toBe('function')
    expect(testing.createRealtimeMock('wss://api.example.test/ws/events').handlers).toHaveLength(1)
  })

  it('reads no browser global at import, in a fresh Node process', async () => {
    await build({
      entryPoints: [join(repoRoot, 'src/testing/index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      external: ['msw'],
      outfile: join(dir, 'testing.mjs'),
      logLevel: 'silent',
    })
    writeFileSync(join(dir, 'check.mjs'), CHECK)
    const result = await run([process.execPath, 'check.mjs'], { cwd: dir, timeoutMs: 20_000 })
    expect(result.code, result.log).toBe(0)
    expect(result.stderr, result.log).toBe('')
    const report = JSON.parse(result.stdout) as { exports: string[]; atImport: string[]; handlers: number; hasWindow: boolean }
    expect(report).toEqual({ exports: ['createRealtimeMock'], atImport: [], handlers: 3, hasWindow: false })
  })
})
