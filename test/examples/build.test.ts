/**
 * The example apps build with Vite (`vite build`, through its JavaScript API), each with its own
 * vite.config.ts, against the built package: `wirefeed` resolves to dist/ through the "exports" map,
 * never to src/. Each build goes to a temporary folder and must hold an index.html that loads a JS
 * asset with the app and the library in it, and no absolute path of the machine that built it.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Rollup } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import './require-dist.js' // stops here, with a clear message, when dist/ is missing

const repo = fileURLToPath(new URL('../../', import.meta.url)).replace(/[\\/]$/, '')
const dist = join(repo, 'dist') + sep
const src = join(repo, 'src') + sep

/** Each example, and the adapter it uses (the core comes with each). */
const EXAMPLES = {
  react: 'react.js',
  vue: 'vue.js',
  svelte: 'svelte.js',
  vanilla: undefined,
} as const

/** Build as `vite build` would from a shell, not as the test runner's environment would. */
const saved = { NODE_ENV: process.env.NODE_ENV, VITEST: process.env.VITEST }
const outDirs: string[] = []
beforeAll(() => {
  process.env.NODE_ENV = 'production'
  delete process.env.VITEST
})
afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
  await Promise.all(outDirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

describe.each(Object.entries(EXAMPLES))('examples/%s', (name, adapter) => {
  it('builds with Vite into index.html and a JS asset holding the app and the built package', { timeout: 60_000 }, async () => {
    const root = join(repo, 'examples', name)
    const outDir = await mkdtemp(join(tmpdir(), `wirefeed-example-${name}-`))
    outDirs.push(outDir)
    const result = await build({
      root,
      configFile: join(root, 'vite.config.ts'),
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true },
    })

    // what went into the bundle: the package from dist/, never from src/
    const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[]
    const modules = outputs.flatMap((o) => o.output.flatMap((chunk) => (chunk.type === 'chunk' ? chunk.moduleIds : [])))
    expect(modules.filter((id) => id.startsWith(dist)).length).toBeGreaterThan(0)
    if (adapter) expect(modules).toContain(join(dist, adapter))
    expect(modules.filter((id) => id.startsWith(src))).toEqual([])

    const written = (await files(outDir)).map((file) => relative(outDir, file).split(sep).join('/'))
    expect(written).toContain('index.html')
    const html = await readFile(join(outDir, 'index.html'), 'utf8')
    const scripts = [...html.matchAll(/<script type="module" crossorigin src="\/(assets\/[^"]+\.js)"><\/script>/g)].map((m) => m[1])
    expect(scripts).toHaveLength(1)
    expect(written).toContain(scripts[0])
    const js = await readFile(join(outDir, scripts[0] as string), 'utf8')
    expect(js).toContain('Refreshing the alerts') // the app
    expect(js).toContain('replay_failed') // the client's wire protocol
    expect(js).not.toContain('createRealtimeMock') // the test helpers stay out of the app

    for (const file of written) {
      const text = await readFile(join(outDir, file), 'utf8')
      for (const path of [repo, outDir, homedir() + sep]) expect(text, `${file} names ${path}`).not.toContain(path)
    }
  })
})
