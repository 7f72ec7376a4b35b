/**
 * Checks the package as published: lint (publint), type resolution (attw), and a fresh
 * consumer project that installs the `npm pack` tarball and uses it from ESM, CJS and
 * TypeScript. Needs dist/ (`npm test` builds before running vitest).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, binScript, npmCommand, repoRoot, run } from './helpers.js'

/**
 * Named runtime exports of the main entry ('wirefeed'). Each one must be importable from
 * ESM, requirable from CJS, and typed for TypeScript consumers.
 */
const EXPECTED_EXPORTS: readonly string[] = ['RealtimeClient']

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
      dependencies: { wirefeed: `file:${join(workDir, packed.filename)}` },
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

  it('imports in Node ESM (node --input-type=module)', async () => {
    const esm = await esmExports(app)
    expect(esm.resolved).toMatch(/\/node_modules\/wirefeed\/dist\/index\.js$/)
    expect(esm.names).toEqual(expect.arrayContaining([...EXPECTED_EXPORTS]))
  }, 30_000)

  it('requires from a .cjs file, with the same exports as ESM', async () => {
    await writeFile(
      join(app, 'require.cjs'),
      [
        `const wirefeed = require('wirefeed')`,
        `const missing = ${JSON.stringify(EXPECTED_EXPORTS)}.filter((name) => wirefeed[name] === undefined)`,
        `if (missing.length > 0) throw new Error('missing exports: ' + missing.join(', '))`,
        `console.log(JSON.stringify({ resolved: require.resolve('wirefeed'), names: Object.keys(wirefeed).sort() }))`,
      ].join('\n'),
    )
    const result = await run([process.execPath, 'require.cjs'], { cwd: app, timeoutMs: 20_000 })
    expect(result.code, result.log).toBe(0)
    const cjs = lastJsonLine<LoadedModule>(result.stdout)
    expect(cjs.resolved).toMatch(/\/node_modules\/wirefeed\/dist\/index\.cjs$/)
    expect(cjs.names).toEqual(expect.arrayContaining([...EXPECTED_EXPORTS]))
    expect(cjs.names).toEqual((await esmExports(app)).names)
  }, 30_000)

  it('type-checks a TypeScript consumer (node16 ESM + CJS, bundler)', async () => {
    const names = EXPECTED_EXPORTS.join(', ')
    const consumer = [
      names === '' ? '' : `import { ${names} } from 'wirefeed'`,
      `import * as wirefeed from 'wirefeed'`,
      `export type Api = typeof wirefeed`,
      `export const used = [${names}] as const`,
      '',
    ].join('\n')
    await mkdir(join(app, 'src'), { recursive: true })
    await writeFile(join(app, 'src', 'esm.mts'), consumer)
    await writeFile(join(app, 'src', 'cjs.cts'), consumer)
    await writeFile(join(app, 'src', 'bundler.ts'), consumer)

    const compilerOptions = {
      target: 'es2022',
      lib: ['es2022', 'dom'],
      strict: true,
      noEmit: true,
      // Also check the published .d.ts files, not only their use.
      skipLibCheck: false,
      types: [],
    }
    await writeJson(join(app, 'tsconfig.node16.json'), {
      compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
      files: ['src/esm.mts', 'src/cjs.cts'],
    })
    await writeJson(join(app, 'tsconfig.bundler.json'), {
      compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
      files: ['src/bundler.ts'],
    })

    const [node16, bundler] = await Promise.all(
      ['tsconfig.node16.json', 'tsconfig.bundler.json'].map((project) =>
        run([...tsc, '-p', project, '--listFiles', '--pretty', 'false'], { cwd: app, timeoutMs: 60_000 }),
      ),
    )
    expect(node16?.code, node16?.log).toBe(0)
    expect(bundler?.code, bundler?.log).toBe(0)
    // node16 resolves the .mts import to the ESM types and the .cts import to the CJS types.
    expect(node16?.stdout).toMatch(/\/node_modules\/wirefeed\/dist\/index\.d\.ts$/m)
    expect(node16?.stdout).toMatch(/\/node_modules\/wirefeed\/dist\/index\.d\.cts$/m)
    expect(bundler?.stdout).toMatch(/\/node_modules\/wirefeed\/dist\/index\.d\.ts$/m)
  }, 90_000)
})

interface LoadedModule {
  resolved: string
  names: string[]
}

const esmResults = new Map<string, Promise<LoadedModule>>()

/** Imports 'wirefeed' (named imports included) in a Node ESM process started in `cwd`. */
function esmExports(cwd: string): Promise<LoadedModule> {
  let result = esmResults.get(cwd)
  if (result === undefined) {
    result = loadEsm(cwd)
    esmResults.set(cwd, result)
  }
  return result
}

async function loadEsm(cwd: string): Promise<LoadedModule> {
  const names = EXPECTED_EXPORTS.join(', ')
  const code = [
    names === '' ? '' : `import { ${names} } from 'wirefeed'`,
    `import * as wirefeed from 'wirefeed'`,
    `const missing = ${JSON.stringify(EXPECTED_EXPORTS)}.filter((name) => wirefeed[name] === undefined)`,
    `if (missing.length > 0) throw new Error('undefined exports: ' + missing.join(', '))`,
    `console.log(JSON.stringify({ resolved: import.meta.resolve('wirefeed'), names: Object.keys(wirefeed).sort() }))`,
  ].join('\n')
  const result = await run([process.execPath, '--input-type=module', '-e', code], { cwd, timeoutMs: 20_000 })
  if (result.code !== 0) throw new Error(`importing wirefeed failed\n${result.log}`)
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
