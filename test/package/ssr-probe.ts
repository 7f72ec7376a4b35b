/**
 * Loads the package's entry points the way a server-side renderer would, in a plain Node process
 * with no DOM, and reports what loading each one did. Run by ssr.test.ts in a child process:
 *
 *   node test/package/ssr-probe.ts <import|require> <dependencies, comma-separated> <specifier>...
 *
 * The dependencies (the bare specifiers that dist/ itself imports: zod, vue, msw, ...) are loaded
 * first, so that what they do when they load (vue and zod add globals of their own) is told apart
 * from what the package's own code does. It prints nothing itself: the report (JSON) goes to file
 * descriptor 3, so that anything on stdout or stderr was printed by the code under test. For the
 * dependencies together, then for each specifier in order:
 * - the async resources created while it loaded (timers, immediates, sockets, ...; promises and
 *   the module loader's own file reads are left out);
 * - the libuv resources keeping the process alive afterwards, against before;
 * - the global properties added, removed or replaced.
 */
import { createHook } from 'node:async_hooks'
import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'
// not the global: a module under test may replace that one
import { setImmediate } from 'node:timers'

/** What a browser has and a server does not; none of them may exist here. */
const DOM_GLOBALS = ['window', 'document', 'navigator', 'location', 'self', 'localStorage', 'sessionStorage', 'HTMLElement', 'addEventListener'] as const

/** Async resources that the module loader itself creates while it reads and evaluates files. */
const LOADER_RESOURCES = new Set(['PROMISE', 'FSREQCALLBACK', 'FSREQPROMISE', 'FILEHANDLE', 'FILEHANDLECLOSEREQ'])

export interface EntryReport {
  specifier: string
  error: string | null
  /** Exported names (to show that something real was loaded). */
  exports: string[]
  created: string[]
  resourcesBefore: string[]
  resourcesAfter: string[]
  globalsAdded: string[]
  globalsRemoved: string[]
  globalsReplaced: string[]
}

export interface ProbeReport {
  mode: string
  node: string
  /** `typeof` of each DOM global, before anything was loaded. */
  dom: Record<string, string>
  webSocket: string
  /** What loading the dependencies did (specifier: their list, comma-separated). */
  dependencies: EntryReport
  entries: EntryReport[]
}

const keyName = (key: string | symbol): string => (typeof key === 'symbol' ? key.toString() : key)

/** Every own property of `globalThis`, with its value or getter, to tell additions and replacements. */
function globals(): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const key of Reflect.ownKeys(globalThis)) {
    const d = Object.getOwnPropertyDescriptor(globalThis, key)
    out.set(keyName(key), d && ('value' in d ? d.value : d.get))
  }
  return out
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function probe(mode: string, dependencies: readonly string[], specifiers: readonly string[]): Promise<ProbeReport> {
  const dom = Object.fromEntries(DOM_GLOBALS.map((name) => [name, typeof (globalThis as Record<string, unknown>)[name]]))
  const require = createRequire(import.meta.url)
  let created: string[] = []
  const hook = createHook({
    init(_id, type) {
      if (!LOADER_RESOURCES.has(type)) created.push(type)
    },
  })

  /** Load `list` and report what that did. */
  async function load(name: string, list: readonly string[]): Promise<EntryReport> {
    await macrotask()
    const before = globals()
    const resourcesBefore = process.getActiveResourcesInfo()
    let error: string | null = null
    const exports: string[] = []
    created = []
    hook.enable()
    try {
      for (const specifier of list) {
        const loaded = (mode === 'require' ? require(specifier) : await import(specifier)) as Record<string, unknown>
        exports.push(...Object.keys(loaded))
      }
    } catch (cause) {
      error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    }
    hook.disable()
    const during = created
    // anything scheduled for "soon" has had its chance to run
    await macrotask()
    await macrotask()
    const after = globals()
    return {
      specifier: name,
      error,
      exports: exports.sort(),
      created: during,
      resourcesBefore,
      resourcesAfter: process.getActiveResourcesInfo(),
      globalsAdded: [...after.keys()].filter((k) => !before.has(k)),
      globalsRemoved: [...before.keys()].filter((k) => !after.has(k)),
      globalsReplaced: [...after.keys()].filter((k) => before.has(k) && !Object.is(before.get(k), after.get(k))),
    }
  }

  const report: ProbeReport = { mode, node: process.version, dom, webSocket: typeof globalThis.WebSocket, dependencies: await load(dependencies.join(','), dependencies), entries: [] }
  for (const specifier of specifiers) report.entries.push(await load(specifier, [specifier]))
  return report
}

const [mode = 'import', dependencies = '', ...specifiers] = process.argv.slice(2)
const report = await probe(mode, dependencies.split(',').filter(Boolean), specifiers)
writeSync(3, JSON.stringify(report))
// a timer or socket left behind would keep the process alive: it is in the report already
process.exit(0)
