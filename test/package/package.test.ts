/**
 * Checks the package as published: lint (publint), type resolution (attw), and a fresh
 * consumer project that installs the `npm pack` tarball and uses it from ESM, CJS and
 * TypeScript. Needs dist/ (`npm test` builds before running vitest).
 */
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, binScript, npmCommand, repoRoot, run } from './helpers.js'

/**
 * Every published entry point with some of its named runtime exports and its file in dist/.
 * Each name must be importable from ESM, requirable from CJS, and typed for TypeScript consumers.
 */
const ENTRIES: Readonly<Record<string, { names: readonly string[]; file: string }>> = {
  wirefeed: { names: ['RealtimeClient', 'RealtimeError', 'isRealtimeError', 'v1Protocol'], file: 'index' },
  'wirefeed/protocols': { names: ['eventBusProtocol', 'typedUpdatesProtocol', 'notifyProtocol', 'hubProtocol'], file: 'protocols' },
  'wirefeed/server': { names: ['createRealtimeServer'], file: 'server' },
  'wirefeed/testing': { names: ['createRealtimeMock'], file: 'testing' },
  'wirefeed/react': { names: ['useRealtime', 'useRealtimeEvent', 'useRealtimeStatus', 'useRealtimeSubscription'], file: 'react' },
  'wirefeed/vue': { names: ['useRealtime', 'useRealtimeEvent', 'useRealtimeStatus', 'useRealtimeSubscription'], file: 'vue' },
  'wirefeed/svelte': { names: ['realtimeStores'], file: 'svelte' },
}
const SPECIFIERS = Object.keys(ENTRIES)
const entry = (specifier: string) => ENTRIES[specifier] as { names: readonly string[]; file: string }

/** Files allowed in the tarball besides dist/ (npm always adds these when they exist). */
const ALWAYS_PUBLISHED = /^(package\.json|README(\.md)?|LICEN[CS]E(\.md|\.txt)?|CHANGELOG\.md)$/i

const tsc = [process.execPath, join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')] as const

beforeAll(assertBuilt)

describe('package metadata and types', () => {
  it('passes publint in strict mode (warnings are errors)', async () => {
    const { messages, pkg } = await publint({ pkgDir: repoRoot, strict: true, pack: 'npm' })
    const lines = messages.map((message) => {
      const text = formatMessage(message, pkg, { color: false }) ?? message.code
      return `${message.type}: ${text}`
    })
    console.log(lines.length > 0 ? `publint:\n  ${lines.join('\n  ')}` : 'publint: no issues')
    expect(messages.filter((message) => message.type !== 'suggestion').map((m) => m.code)).toEqual([])
  }, 60_000)

  it('leaves dependencies external (no node_modules code in dist)', async () => {
    const maps = (await readdir(join(repoRoot, 'dist'))).filter((file) => file.endsWith('.map'))
    expect(maps.length, 'source maps in dist/').toBeGreaterThan(0)
    const bundled: string[] = []
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(repoRoot, 'dist', map), 'utf8')) as { sources: string[] }
      bundled.push(...sources.filter((source) => source.includes('node_modules/')).map((source) => `${map}: ${source}`))
    }
    expect(bundled).toEqual([])
  })

  it('passes attw with the node16 profile (node16 ESM + CJS, bundler)', async () => {
    const result = await run([process.execPath, binScript('attw'), '--pack', '.', '--profile', 'node16', '--format', 'json'], {
      cwd: repoRoot,
      timeoutMs: 100_000,
    })
    let report: AttwReport
    try {
      report = JSON.parse(result.stdout) as AttwReport
    } catch {
      throw new Error(`attw printed no JSON report\n${result.log}`)
    }
    const { analysis } = report
    expect(analysis.types, 'attw found no types in the package').toBeTruthy()

    const resolved: string[] = []
    for (const [entrypoint, info] of Object.entries(analysis.entrypoints ?? {})) {
      for (const [kind, resolution] of Object.entries(info.resolutions ?? {})) {
        resolved.push(`${entrypoint} ${kind} -> ${resolution.resolution?.fileName ?? 'unresolved'}`)
      }
    }
    const problems = (analysis.problems ?? []).map((problem) => ({
      ...problem,
      // The node16 profile ignores problems that only affect node10 (`moduleResolution: node`).
      ignored: problem.resolutionKind === 'node10',
    }))
    console.log(
      [
        'attw resolutions:',
        ...resolved.map((line) => `  ${line}`),
        `attw problems: ${problems.length === 0 ? 'none' : ''}`,
        ...problems.map((p) => `  ${p.kind} ${p.entrypoint ?? ''} ${p.resolutionKind ?? ''}${p.ignored ? ' (ignored)' : ''}`),
      ].join('\n'),
    )
    expect(problems.filter((p) => !p.ignored)).toEqual([])
    expect(result.code, result.log).toBe(0)
  }, 120_000)
})

describe('installed from the packed tarball', () => {
  let workDir = ''
  let app = ''

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'wirefeed-pkg-test-'))
    app = join(workDir, 'app')
    await mkdir(app)

    const pack = await run([...npmCommand, 'pack', '--json', '--pack-destination', workDir], {
      cwd: repoRoot,
      timeoutMs: 60_000,
    })
    expect(pack.code, pack.log).toBe(0)
    const [packed] = JSON.parse(pack.stdout) as NpmPackResult[]
    if (packed === undefined) throw new Error(`npm pack reported no tarball\n${pack.log}`)

    const files = packed.files.map((file) => file.path).sort()
    console.log(`npm pack: ${packed.filename}, ${packed.size} B, ${files.length} files\n  ${files.join('\n  ')}`)
    const unexpected = files.filter((path) => !path.startsWith('dist/') && !ALWAYS_PUBLISHED.test(path))
    expect(unexpected, 'files outside dist/ in the tarball').toEqual([])

    await writeJson(join(app, 'package.json'), {
      name: 'wirefeed-consumer',
      version: '0.0.0',
      private: true,
      // ws and @types/node: what a Node app using wirefeed/server has anyway;
      // plus the optional peers of the subpaths, from the npm cache
      dependencies: {
        wirefeed: `file:${join(workDir, packed.filename)}`,
        ...Object.fromEntries(['ws', '@types/node', 'msw', 'react', '@types/react', 'vue', 'svelte'].map((name) => [name, devVersion(name)])),
      },
    })
    // The dependencies of wirefeed come from the npm cache that `npm ci` filled.
    const install = await run(
      [...npmCommand, 'install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=warn'],
      { cwd: app, timeoutMs: 170_000 },
    )
    expect(install.code, install.log).toBe(0)
  }, 240_000)

  afterAll(async () => {
    if (workDir !== '') await rm(workDir, { recursive: true, force: true })
  })

  it.each(SPECIFIERS)('imports %s in Node ESM (node --input-type=module)', async (specifier) => {
    const esm = await esmExports(app, specifier)
    expect(esm.resolved).toMatch(new RegExp(`/node_modules/wirefeed/dist/${entry(specifier).file}\\.js$`))
    expect(esm.names).toEqual(expect.arrayContaining([...entry(specifier).names]))
  }, 30_000)

  it.each(SPECIFIERS)('requires %s from a .cjs file, with the same exports as ESM', async (specifier) => {
    const { names, file } = entry(specifier)
    await writeFile(
      join(app, `require-${file}.cjs`),
      [
        `const wirefeed = require(${JSON.stringify(specifier)})`,
        `const missing = ${JSON.stringify(names)}.filter((name) => wirefeed[name] === undefined)`,
        `if (missing.length > 0) throw new Error('missing exports: ' + missing.join(', '))`,
        `console.log(JSON.stringify({ resolved: require.resolve(${JSON.stringify(specifier)}), names: Object.keys(wirefeed).sort() }))`,
      ].join('\n'),
    )
    const result = await run([process.execPath, `require-${file}.cjs`], { cwd: app, timeoutMs: 20_000 })
    expect(result.code, result.log).toBe(0)
    const cjs = lastJsonLine<LoadedModule>(result.stdout)
    expect(cjs.resolved).toMatch(new RegExp(`/node_modules/wirefeed/dist/${file}\\.cjs$`))
    expect(cjs.names).toEqual(expect.arrayContaining([...names]))
    expect(cjs.names).toEqual((await esmExports(app, specifier)).names)
  }, 30_000)

  it('type-checks a TypeScript consumer (node16 ESM + CJS, bundler)', async () => {
    const consumer = SPECIFIERS.flatMap((specifier, i) => [
      `import * as api${i} from ${JSON.stringify(specifier)}`,
      `export type Api${i} = typeof api${i}`,
      `export const used${i} = [${entry(specifier).names.map((name) => `api${i}.${name}`).join(', ')}] as const`,
    ]).join('\n')
    await mkdir(join(app, 'src'), { recursive: true })
    await writeFile(join(app, 'src', 'esm.mts'), consumer)
    await writeFile(join(app, 'src', 'cjs.cts'), consumer)
    await writeFile(join(app, 'src', 'bundler.ts'), consumer)
    // a browser app: the core entry needs no Node types
    await writeFile(join(app, 'src', 'browser.ts'), `import { ${entry('wirefeed').names.join(', ')} } from 'wirefeed'\nexport const used = [${entry('wirefeed').names.join(', ')}] as const\n`)

    const compilerOptions = {
      target: 'es2022',
      lib: ['es2022', 'dom'],
      strict: true,
      noEmit: true,
      // Also check the published .d.ts files, not only their use.
      skipLibCheck: false,
      types: ['node'],
    }
    await writeJson(join(app, 'tsconfig.node16.json'), {
      compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
      files: ['src/esm.mts', 'src/cjs.cts'],
    })
    await writeJson(join(app, 'tsconfig.bundler.json'), {
      compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
      files: ['src/bundler.ts'],
    })
    await writeJson(join(app, 'tsconfig.browser.json'), {
      compilerOptions: { ...compilerOptions, types: [], module: 'esnext', moduleResolution: 'bundler' },
      files: ['src/browser.ts'],
    })

    const [node16, bundler, browser] = await Promise.all(
      ['tsconfig.node16.json', 'tsconfig.bundler.json', 'tsconfig.browser.json'].map((project) =>
        run([...tsc, '-p', project, '--listFiles', '--pretty', 'false'], { cwd: app, timeoutMs: 60_000 }),
      ),
    )
    // msw's own declarations do not load in a CommonJS-mode file with skipLibCheck off (they import
    // ESM-only packages); that is msw's, and any CJS app that type-checks msw meets it. Every other
    // error fails the test.
    const ours = (log: string | undefined): string[] =>
      (log ?? '').split('\n').filter((line) => /error TS\d+/.test(line) && !line.startsWith('node_modules/msw/'))
    expect(ours(node16?.stdout), node16?.log).toEqual([])
    expect(bundler?.code, bundler?.log).toBe(0)
    expect(browser?.code, browser?.log).toBe(0)
    expect(browser?.stdout).not.toMatch(/@types\/node/)
    // node16 resolves the .mts import to the ESM types and the .cts import to the CJS types.
    for (const { file } of Object.values(ENTRIES)) {
      expect(node16?.stdout).toMatch(new RegExp(`/node_modules/wirefeed/dist/${file}\\.d\\.ts$`, 'm'))
      expect(node16?.stdout).toMatch(new RegExp(`/node_modules/wirefeed/dist/${file}\\.d\\.cts$`, 'm'))
      expect(bundler?.stdout).toMatch(new RegExp(`/node_modules/wirefeed/dist/${file}\\.d\\.ts$`, 'm'))
    }
  }, 90_000)
})

interface LoadedModule {
  resolved: string
  names: string[]
}

const esmResults = new Map<string, Promise<LoadedModule>>()

/** Imports an entry (named imports included) in a Node ESM process started in `cwd`. */
function esmExports(cwd: string, specifier: string): Promise<LoadedModule> {
  const key = `${cwd}\n${specifier}`
  let result = esmResults.get(key)
  if (result === undefined) {
    result = loadEsm(cwd, specifier)
    esmResults.set(key, result)
  }
  return result
}

async function loadEsm(cwd: string, specifier: string): Promise<LoadedModule> {
  const { names } = entry(specifier)
  const spec = JSON.stringify(specifier)
  const code = [
    `import { ${names.join(', ')} } from ${spec}`,
    `import * as wirefeed from ${spec}`,
    `const missing = ${JSON.stringify(names)}.filter((name) => wirefeed[name] === undefined)`,
    `if (missing.length > 0) throw new Error('undefined exports: ' + missing.join(', '))`,
    `console.log(JSON.stringify({ resolved: import.meta.resolve(${spec}), names: Object.keys(wirefeed).sort() }))`,
  ].join('\n')
  const result = await run([process.execPath, '--input-type=module', '-e', code], { cwd, timeoutMs: 20_000 })
  if (result.code !== 0) throw new Error(`importing ${specifier} failed\n${result.log}`)
  return lastJsonLine<LoadedModule>(result.stdout)
}

function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').at(-1) ?? ''
  return JSON.parse(line) as T
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`)
}

interface NpmPackResult {
  filename: string
  size: number
  files: { path: string }[]
}

/** The parts of `attw --format json` output used here. */
interface AttwReport {
  analysis: {
    types: unknown
    entrypoints?: Record<string, { resolutions?: Record<string, { resolution?: { fileName?: string } }> }>
    problems?: { kind: string; entrypoint?: string; resolutionKind?: string }[]
  }
}

/** The range the repo itself installs a package at (so the consumer's install is served from the npm cache). */
function devVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
  const range = pkg.devDependencies[name]
  if (range === undefined) throw new Error(`${name} is not a devDependency`)
  return range
}
