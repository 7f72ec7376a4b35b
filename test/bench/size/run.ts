/**
 * Bundle size of the core import against the other realtime clients, measured the same way for
 * every contender: what an app imports, bundled for the browser with esbuild (minified, ESM,
 * es2022, everything the import pulls in), then gzipped at level 9.
 *
 *   node test/bench/size/run.ts [--no-write]
 *
 * The other clients are installed at the exact versions pinned in PINNED below into
 * node_modules/.cache/wirefeed-size-bench/ (a package.json of its own and
 * `npm install --ignore-scripts`), outside the project's dependency tree; the install is skipped
 * when those versions are there already. The rows of the packages wirefeed itself depends on
 * (reconnecting-websocket, mitt, zod) bundle the project's own copies: the very code wirefeed's
 * total contains.
 *
 * wirefeed is measured from its ESM build (dist/index.js), as test/package/size.test.ts does:
 * once with its dependencies (what an app ships) and once with them external (the package's own
 * code). Run `npm run build` first (`npm run bench` does).
 *
 * It prints a table sorted by min+gzip bytes and rewrites the section between
 * `<!-- size:start -->` and `<!-- size:end -->` of BENCHMARKS.md (not with `--no-write`).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants, gzipSync } from 'node:zlib'
import { build, type Plugin, version as esbuildVersion } from 'esbuild'
import { childEnv } from '../../package/helpers.ts'

/** Exact versions of the packages installed into the cache (latest on npm when last pinned). */
const PINNED: Readonly<Record<string, string>> = {
  phoenix: '1.8.16',
  'socket.io-client': '4.8.4',
  '@microsoft/signalr': '10.0.11',
  'pusher-js': '8.6.0',
  centrifuge: '5.8.0',
  ably: '2.28.0',
  partysocket: '1.3.0',
}

/** Where a contender's code is resolved from. */
type Source = 'cache' | 'project' | 'dist'

interface Contender {
  /** Label in the table. */
  label: string
  /** Package whose version the table gives. */
  package: string
  source: Source
  /** What the app imports, as shown in the table. */
  shown: string
  /** The entry bundled: it exports what it imports, so nothing is tree-shaken away. */
  entry: string
  /** Packages left out of the bundle. */
  external?: string[]
}

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
const ROOT = here('../../../')
const BENCHMARKS = `${ROOT}BENCHMARKS.md`
const CACHE_RELATIVE = 'node_modules/.cache/wirefeed-size-bench'
const CACHE = `${ROOT}${CACHE_RELATIVE}`
const START = '<!-- size:start -->'
const END = '<!-- size:end -->'
const HEADING = '## Bundle size, wirefeed and the alternatives'
/** The section the size section goes before when BENCHMARKS.md has no markers yet. */
const NEXT_HEADING = '## Client CPU per event'

const args = process.argv.slice(2)
const unknown = args.filter((a) => a !== '--no-write')
if (unknown.length > 0) {
  console.error(`size bench: unknown arguments ${unknown.join(' ')}\nusage: node test/bench/size/run.ts [--no-write]`)
  process.exit(2)
}
const write = !args.includes('--no-write')

const DIST_ENTRY = `${ROOT}dist/index.js`
if (!existsSync(DIST_ENTRY)) {
  console.error('size bench: dist/index.js is missing; run `npm run build` first (`npm run bench` does)')
  process.exit(1)
}

const projectPackage = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string; dependencies?: Record<string, string> }
const DEPENDENCIES = Object.keys(projectPackage.dependencies ?? {})

/** The same small event union for both zod rows: three objects told apart by `type`. */
const UNION = `const Event = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), id: z.string(), text: z.string() }),
  z.object({ type: z.literal('presence'), user: z.string(), online: z.boolean() }),
  z.object({ type: z.literal('metrics'), cpu: z.number(), mem: z.number() }),
])
export const check = (value) => Event.safeParse(value)`

const CONTENDERS: Contender[] = [
  {
    label: 'wirefeed, with its dependencies',
    package: 'wirefeed',
    source: 'dist',
    shown: "`import { RealtimeClient } from 'wirefeed'`",
    entry: "export { RealtimeClient } from 'wirefeed'",
  },
  {
    label: `wirefeed, own code only (${DEPENDENCIES.join(', ')} external)`,
    package: 'wirefeed',
    source: 'dist',
    shown: "`import { RealtimeClient } from 'wirefeed'`",
    entry: "export { RealtimeClient } from 'wirefeed'",
    external: DEPENDENCIES.flatMap((name) => [name, `${name}/*`]),
  },
  { label: 'phoenix', package: 'phoenix', source: 'cache', shown: "`import { Socket } from 'phoenix'`", entry: "export { Socket } from 'phoenix'" },
  { label: 'socket.io-client', package: 'socket.io-client', source: 'cache', shown: "`import { io } from 'socket.io-client'`", entry: "export { io } from 'socket.io-client'" },
  {
    label: '@microsoft/signalr',
    package: '@microsoft/signalr',
    source: 'cache',
    shown: "`import { HubConnectionBuilder } from '@microsoft/signalr'`",
    entry: "export { HubConnectionBuilder } from '@microsoft/signalr'",
  },
  { label: 'pusher-js', package: 'pusher-js', source: 'cache', shown: "`import Pusher from 'pusher-js'`", entry: "import Pusher from 'pusher-js'\nexport { Pusher }" },
  { label: 'centrifuge', package: 'centrifuge', source: 'cache', shown: "`import { Centrifuge } from 'centrifuge'`", entry: "export { Centrifuge } from 'centrifuge'" },
  {
    label: 'ably, modular (minimal realtime client)',
    package: 'ably',
    source: 'cache',
    shown: "`import { BaseRealtime, WebSocketTransport, FetchRequest } from 'ably/modular'`",
    entry: "export { BaseRealtime, WebSocketTransport, FetchRequest } from 'ably/modular'",
  },
  { label: 'ably, full', package: 'ably', source: 'cache', shown: "`import * as Ably from 'ably'`", entry: "import * as Ably from 'ably'\nexport { Ably }" },
  {
    label: 'reconnecting-websocket alone',
    package: 'reconnecting-websocket',
    source: 'project',
    shown: "`import ReconnectingWebSocket from 'reconnecting-websocket'`",
    entry: "import ReconnectingWebSocket from 'reconnecting-websocket'\nexport { ReconnectingWebSocket }",
  },
  { label: 'mitt alone', package: 'mitt', source: 'project', shown: "`import mitt from 'mitt'`", entry: "import mitt from 'mitt'\nexport { mitt }" },
  { label: 'partysocket', package: 'partysocket', source: 'cache', shown: "`import PartySocket from 'partysocket'`", entry: "import PartySocket from 'partysocket'\nexport { PartySocket }" },
  {
    label: 'zod/mini, a small discriminated union',
    package: 'zod',
    source: 'project',
    shown: "`import * as z from 'zod/mini'`: `z.discriminatedUnion` of 3 small objects + `safeParse`",
    entry: `import * as z from 'zod/mini'\n${UNION}`,
  },
  {
    label: 'zod (classic), the same union',
    package: 'zod',
    source: 'project',
    shown: "`import * as z from 'zod'`: the same union + `safeParse`",
    entry: `import * as z from 'zod'\n${UNION}`,
  },
]

// ---- the cache of pinned packages ----

/** The version of a package in a node_modules folder, if it is there. */
function versionIn(dir: string, name: string): string | undefined {
  const file = `${dir}/node_modules/${name}/package.json`
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined
}

/** The npm running this script under `npm run`, with this Node; plain `npm` from PATH otherwise. */
function npmCommand(): [string, ...string[]] {
  const cli = process.env['npm_execpath']
  return cli !== undefined && /npm-cli\.c?js$/.test(cli) ? [process.execPath, cli] : ['npm']
}

/** Installs the pinned packages into the cache unless every one is there at its pinned version. */
function installPinned(): void {
  const missing = Object.entries(PINNED).filter(([name, version]) => versionIn(CACHE, name) !== version)
  if (missing.length === 0) return
  mkdirSync(CACHE, { recursive: true })
  const manifest = {
    name: 'wirefeed-size-bench',
    private: true,
    description: 'The packages test/bench/size/run.ts measures against wirefeed, at pinned versions.',
    dependencies: PINNED,
  }
  writeFileSync(`${CACHE}/package.json`, `${JSON.stringify(manifest, null, 2)}\n`)
  console.log(`Installing ${missing.map(([name, version]) => `${name}@${version}`).join(', ')} into ${CACHE_RELATIVE}/ ...`)
  const [file, ...rest] = npmCommand()
  const result = spawnSync(file, [...rest, 'install', '--prefix', CACHE, '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: CACHE,
    env: childEnv(),
    stdio: 'inherit',
  })
  const still = Object.entries(PINNED).filter(([name, version]) => versionIn(CACHE, name) !== version)
  if (result.error || result.status !== 0 || still.length > 0) {
    console.error(
      `size bench: could not install ${still.map(([name, version]) => `${name}@${version}`).join(', ') || 'the pinned packages'} ` +
        `into ${CACHE_RELATIVE}/ (npm ${result.error ? result.error.message : `exited with ${result.status ?? result.signal}`}); the registry must be reachable`,
    )
    process.exit(1)
  }
}

// ---- bundling ----

/** Resolves the bare specifier 'wirefeed' to the ESM build in dist/, as test/package/size.test.ts does. */
const wirefeedFromDist: Plugin = {
  name: 'wirefeed-from-dist',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^wirefeed$/ }, () => ({ path: DIST_ENTRY }))
  },
}

interface Measured {
  contender: Contender
  version: string
  min: number
  gzip: number
  /** Packages in the bundle, with their versions. */
  packages: string[]
  warnings: number
}

/**
 * The package a bundled file (an absolute path, symlinks resolved, as esbuild gives them) belongs
 * to, and the folder of its package.json: the folder after its last node_modules/, or dist/.
 */
function packageOf(file: string, dist: string): { name: string; dir: string } | undefined {
  const at = file.lastIndexOf('/node_modules/')
  if (at < 0) return file.startsWith(`${dist}/`) ? { name: 'wirefeed', dir: resolve(dist, '..') } : undefined
  const parts = file.slice(at + '/node_modules/'.length).split('/')
  const name = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '')
  return { name, dir: file.slice(0, at + '/node_modules/'.length) + name }
}

function versionOf(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
}

async function measure(contender: Contender): Promise<Measured> {
  const resolveDir = contender.source === 'cache' ? CACHE : ROOT
  const result = await build({
    stdin: { contents: contender.entry, resolveDir, loader: 'js' },
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: contender.external ?? [],
    plugins: [wirefeedFromDist],
    metafile: true,
    write: false,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]?.contents ?? new Uint8Array()
  const files = Object.keys(result.metafile.inputs)
    .filter((input) => input !== '<stdin>')
    .map((input) => resolve(ROOT, input))
  // every file must come from where this contender is meant to be resolved from
  const cache = realpathSync(CACHE)
  const stray = files.filter((file) => (contender.source === 'cache' ? !file.startsWith(`${cache}/node_modules/`) : file.startsWith(`${cache}/`)))
  if (stray.length > 0) throw new Error(`size bench: ${contender.label} bundled files from outside its ${contender.source}: ${stray.join(', ')}`)
  const dist = realpathSync(`${ROOT}dist`)
  const packages = new Map<string, string>()
  for (const file of files) {
    const pkg = packageOf(file, dist)
    if (pkg && !packages.has(pkg.name)) packages.set(pkg.name, versionOf(pkg.dir))
  }
  const version = contender.source === 'dist' ? projectPackage.version : (versionIn(contender.source === 'cache' ? CACHE : ROOT, contender.package) ?? '?')
  return {
    contender,
    version,
    min: code.byteLength,
    gzip: gzipSync(code, { level: constants.Z_BEST_COMPRESSION }).byteLength,
    // the contender's own package first, then what it pulls in
    packages: [...packages]
      .sort(([a], [b]) => (a === contender.package ? -1 : b === contender.package ? 1 : a.localeCompare(b)))
      .map(([name, v]) => `${name} ${v}`),
    warnings: result.warnings.length,
  }
}

// ---- output ----

const thousands = (v: number): string => v.toLocaleString('en-US')

function section(rows: Measured[]): string {
  const wirefeed = rows.find((r) => r.contender.source === 'dist' && !r.contender.external)
  if (!wirefeed) throw new Error('size bench: no wirefeed row')
  const date = new Date().toISOString().slice(0, 10)
  const lines = [
    `Measured ${date} with \`node test/bench/size/run.ts\`: esbuild ${esbuildVersion} (bundle, minify, ESM, platform browser, target es2022), gzip level 9 (Node ${process.version} zlib).`,
    '',
    '| contender | version | import measured | min bytes | min+gzip bytes | ratio to wirefeed |',
    '|---|---|---|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.contender.label} | ${r.version} | ${r.contender.shown} | ${thousands(r.min)} | ${thousands(r.gzip)} | ${(r.gzip / wirefeed.gzip).toFixed(2)}x |`,
    ),
    '',
    'Bundles of more than one package (every other bundle is its own package alone):',
    '',
    ...rows.filter((r) => r.packages.length > 1).map((r) => `- ${r.contender.label}: ${r.packages.join(', ')}`),
  ]
  return `${START}\n${lines.join('\n')}\n${END}`
}

const INTRO = `What is measured: for each contender, a one-line entry that imports what an app imports and
exports it (so nothing is tree-shaken away), bundled by esbuild for the browser (\`bundle\`,
\`minify\`, \`format: 'esm'\`, \`platform: 'browser'\`, \`target: 'es2022'\`: the \`browser\`,
\`import\` and \`default\` export conditions and the \`browser\` field, as a browser app's bundler
picks), with everything the import pulls in, then gzipped at level 9. Command:
\`node test/bench/size/run.ts\` (\`--no-write\` prints the table without rewriting the section between
the \`size:start\` and \`size:end\` markers below).`

function writeBenchmarks(text: string): void {
  const doc = readFileSync(BENCHMARKS, 'utf8')
  const start = doc.indexOf(START)
  const end = doc.indexOf(END)
  let next: string
  if (start >= 0 && end > start) {
    next = doc.slice(0, start) + text + doc.slice(end + END.length)
  } else {
    const block = `${HEADING}\n\n${INTRO}\n\n${text}\n\n`
    const at = doc.indexOf(`\n${NEXT_HEADING}`)
    next = at >= 0 ? doc.slice(0, at + 1) + block + doc.slice(at + 1) : `${doc.trimEnd()}\n\n${block.trimEnd()}\n`
  }
  writeFileSync(BENCHMARKS, next)
}

// ---- the run ----

installPinned()
const rows: Measured[] = []
for (const contender of CONTENDERS) rows.push(await measure(contender))
rows.sort((a, b) => a.gzip - b.gzip)
const text = section(rows)
console.log(`\nBundle size, wirefeed and the alternatives\n\n${text.split('\n').slice(1, -1).join('\n')}\n`)
for (const r of rows.filter((row) => row.warnings > 0)) console.log(`(esbuild gave ${r.warnings} warning(s) bundling ${r.contender.label})`)
if (write) {
  writeBenchmarks(text)
  console.log('BENCHMARKS.md updated (the section between <!-- size:start --> and <!-- size:end -->).')
} else {
  console.log('BENCHMARKS.md left as it was (--no-write).')
}
