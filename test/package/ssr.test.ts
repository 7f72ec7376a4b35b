/**
 * Safe to load on a server: every published entry point (`wirefeed`, `/protocols`, `/server`, `/testing`,
 * `/react`, `/vue`, `/svelte`), from dist/ as published, through the package's own "exports" map,
 * both `import`ed (ESM) and `require`d (CJS), in a plain Node process with no DOM. Loading one does
 * nothing and throws nothing: no timer, immediate, socket or other handle is created, the process
 * has the same active resources afterwards, nothing is printed, and no global is added, removed or
 * replaced. Each runs with Node's own `WebSocket` and without one (older Node, or a runtime that
 * has none).
 *
 * The loading happens in a child process (ssr-probe.ts), with the globals a browser has removed or
 * never there. That process first loads the package's dependencies (the bare specifiers dist/
 * imports), whose own effects (vue and zod add globals, msw opens a message port) are theirs:
 * they are printed, not held against the package.
 *
 * test/adapters/ssr.test.ts covers the other half: rendering components that use the adapters on
 * the server opens nothing.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, childEnv, repoRoot } from './helpers.js'
import type { EntryReport, ProbeReport } from './ssr-probe.ts'

const ENTRY_POINTS = ['wirefeed', 'wirefeed/protocols', 'wirefeed/server', 'wirefeed/testing', 'wirefeed/react', 'wirefeed/vue', 'wirefeed/svelte'] as const
const probeScript = join(repoRoot, 'test', 'package', 'ssr-probe.ts')

beforeAll(assertBuilt)

/** The bare specifiers dist/ loads (`from "x"`, `require('x')`), Node's built-ins included. */
function distDependencies(): string[] {
  const found = new Set<string>()
  const dist = join(repoRoot, 'dist')
  for (const file of readdirSync(dist).filter((f) => /\.c?js$/.test(f))) {
    const text = readFileSync(join(dist, file), 'utf8')
    for (const m of text.matchAll(/(?:\bfrom\s*|\brequire\(\s*|\bimport\(\s*)["']([^"'./][^"']*)["']/g)) found.add(m[1] as string)
  }
  return [...found].sort()
}

interface ProbeRun {
  code: number | null
  stdout: string
  stderr: string
  report: ProbeReport | undefined
  /** The command and everything it printed, for assertion messages. */
  log: string
}

/** Run the probe in a fresh Node process; its report arrives on file descriptor 3. */
function runProbe(mode: 'import' | 'require', nodeFlags: readonly string[], dependencies: readonly string[], specifiers: readonly string[]): Promise<ProbeRun> {
  const args = [...nodeFlags, probeScript, mode, dependencies.join(','), ...specifiers]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      // NODE_OPTIONS could preload code into the child: it must load the package and nothing else
      env: childEnv({ NODE_OPTIONS: '' }),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    })
    const out = { stdout: '', stderr: '', report: '' }
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out.stdout += chunk))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk))
    const fd3 = child.stdio[3] as NodeJS.ReadableStream
    fd3.setEncoding('utf8').on('data', (chunk: string) => (out.report += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      let report: ProbeReport | undefined
      try {
        report = JSON.parse(out.report) as ProbeReport
      } catch {
        report = undefined
      }
      const log = [`$ node ${args.join(' ')}  (exit ${code})`, out.stdout.trimEnd(), out.stderr.trimEnd()].filter((p) => p !== '').join('\n')
      resolve({ code, stdout: out.stdout, stderr: out.stderr, report, log })
    })
  })
}

/** What loading one entry point did that it must not have, as readable lines (none when clean). */
function sideEffects(e: EntryReport): string[] {
  const problems: string[] = []
  if (e.error !== null) problems.push(`threw ${e.error}`)
  if (e.created.length > 0) problems.push(`created ${e.created.join(', ')}`)
  const before = [...e.resourcesBefore].sort()
  const after = [...e.resourcesAfter].sort()
  if (JSON.stringify(before) !== JSON.stringify(after)) problems.push(`active resources ${JSON.stringify(before)} -> ${JSON.stringify(after)}`)
  if (e.globalsAdded.length > 0) problems.push(`added globals ${e.globalsAdded.join(', ')}`)
  if (e.globalsRemoved.length > 0) problems.push(`removed globals ${e.globalsRemoved.join(', ')}`)
  if (e.globalsReplaced.length > 0) problems.push(`replaced globals ${e.globalsReplaced.join(', ')}`)
  return problems
}

/** No navigator (Node has one since v21); `--no-experimental-websocket` also removes WebSocket. */
const NO_NAVIGATOR = '--no-experimental-global-navigator'
const VARIANTS = [
  { label: 'import (ESM), with WebSocket', mode: 'import', webSocket: true },
  { label: 'require (CJS), with WebSocket', mode: 'require', webSocket: true },
  { label: 'import (ESM), no WebSocket', mode: 'import', webSocket: false },
  { label: 'require (CJS), no WebSocket', mode: 'require', webSocket: false },
] as const

describe('loading the package on a server (no DOM)', () => {
  it.each(VARIANTS.map((v) => [v.label, v] as const))('%s: every entry point loads, does nothing, prints nothing, adds no global', async (_label, { mode, webSocket }) => {
    const flags = webSocket ? [NO_NAVIGATOR] : [NO_NAVIGATOR, '--no-experimental-websocket']
    const dependencies = distDependencies()
    const run = await runProbe(mode, flags, dependencies, ENTRY_POINTS)
    expect(run.code, run.log).toBe(0)
    const report = run.report
    if (!report) throw new Error(`the probe sent no report\n${run.log}`)

    // A server's globals: none of a browser's; WebSocket as the variant says.
    expect(Object.keys(report.dom).length).toBeGreaterThan(0)
    expect(Object.entries(report.dom).filter(([, type]) => type !== 'undefined')).toEqual([])
    expect(report.webSocket).toBe(webSocket ? 'function' : 'undefined')

    // The dependencies loaded (their own effects are printed below, not judged).
    expect(report.dependencies.error, run.log).toBeNull()
    expect(report.entries.map((e) => e.specifier)).toEqual([...ENTRY_POINTS])
    for (const e of report.entries) {
      expect(e.exports.length, `${e.specifier} exports something`).toBeGreaterThan(0)
      expect(sideEffects(e), `${mode} ${e.specifier}`).toEqual([])
    }
    // Nothing printed, by the package or by its dependencies.
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe('')
    const d = report.dependencies
    console.log(
      `[ssr ${mode}, WebSocket ${webSocket ? 'kept' : 'absent'}] node ${report.node}; ${report.entries.length} entry points clean; ` +
        `dependencies (${dependencies.join(' ')}) on their own: globals +[${d.globalsAdded.join(', ')}], created [${d.created.join(', ')}]`,
    )
  }, 60_000)

  it('the probe sees a timer, a global, a replaced global, an error and output when a module has them', async () => {
    // (An inline module that does everything the entry points must not.)
    const noisy = `data:text/javascript,${encodeURIComponent("globalThis.leaked = 1; globalThis.setImmediate = () => {}; setTimeout(() => {}, 60_000); console.log('hello')")}`
    const broken = `data:text/javascript,${encodeURIComponent("throw new Error('boom')")}`
    const run = await runProbe('import', [NO_NAVIGATOR], [], [noisy, broken])
    const report = run.report
    if (!report) throw new Error(`the probe sent no report\n${run.log}`)
    const [first, second] = report.entries as [EntryReport, EntryReport]
    expect(sideEffects(first)).toEqual([
      // (printing to a pipe opens it, and ticks)
      expect.stringMatching(/^created .*\bTimeout\b/),
      expect.stringMatching(/^active resources \[.*\] -> \[.*"Timeout".*\]$/),
      'added globals leaked',
      'replaced globals setImmediate',
    ])
    expect(sideEffects(second)).toEqual(['threw Error: boom'])
    expect(run.stdout).toBe('hello\n')
  }, 60_000)
})
