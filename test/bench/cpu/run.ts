/**
 * Client CPU per event through the whole receive pipeline, wirefeed against the alternatives,
 * each contender in a process of its own against a server in another process on 127.0.0.1.
 *
 *   node test/bench/cpu/run.ts [--quick] [--repeats=N] [--only=id,id] [--sizes=200,2000,20000] [--profile] [--write | --no-write]
 *
 * (`npm run bench` builds dist/, runs the vitest benches, then this; `npm run bench -- --quick`
 * passes `--quick` here.) It starts one server process per contender (`server.ts`), then, for
 * each repeat, each frame size and each contender in turn (round-robin, the order rotated from one
 * round to the next, so drift on a noisy machine hits every contender alike), one client process
 * (`client.ts`) that warms up, receives a burst of events, and reports its own CPU time. It prints
 * a table of median, min and max CPU per event and the ratio of each median to the floor's, and
 * rewrites the section between `<!-- cpu:start -->` and `<!-- cpu:end -->` of BENCHMARKS.md
 * (full runs only: `--quick`, 3 repeats, is a smoke run, and `--only` (the floor always runs) or
 * `--sizes` run a part; those write nothing unless given `--write`).
 *
 * `--profile` also records a V8 CPU profile of each client's measured burst (in
 * node_modules/.cache/wirefeed-bench-cpu/) and prints, per contender, the functions with the most
 * self time, located in src/ through dist's source maps; its figures carry the profiler's cost and
 * are never recorded.
 *
 * It runs the built package (dist/index.js, dist/server.js), as an application would.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { cpus, platform, release, totalmem } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { Child, type Message } from '../child.ts'

type ServerKind = 'wirefeed' | 'ws' | 'socket.io'

interface Contender {
  /** Name given to client.ts. */
  id: string
  /** Label in the table. */
  label: string
  server: ServerKind
}

interface Size {
  /** Target byte length of a wirefeed event frame. */
  bytes: number
  label: string
  /** Events measured per repeat. */
  count: number
  /** Events received before the measurement (JIT warm-up). */
  warm: number
}

const ALL_CONTENDERS: Contender[] = [
  { id: 'floor', label: 'floor: WebSocket + JSON.parse + 1 callback', server: 'wirefeed' },
  { id: 'floor-plain', label: 'control: the floor against the plain ws server', server: 'ws' },
  { id: 'wirefeed', label: 'wirefeed, no payload schema', server: 'wirefeed' },
  { id: 'wirefeed+zod', label: 'wirefeed + zod schema (classic, JIT)', server: 'wirefeed' },
  { id: 'wirefeed+zod-jitless', label: 'wirefeed + zod schema (classic, jitless: strict CSP)', server: 'wirefeed' },
  { id: 'reconnecting-websocket', label: 'reconnecting-websocket + JSON.parse', server: 'ws' },
  { id: 'partysocket', label: 'partysocket (ws) + JSON.parse', server: 'ws' },
  { id: 'socket.io', label: 'socket.io-client (browser build)', server: 'socket.io' },
]

const ALL_SIZES: Size[] = [
  { bytes: 200, label: '~200 B', count: 30_000, warm: 8_000 },
  { bytes: 2_000, label: '~2 KB', count: 10_000, warm: 2_500 },
  { bytes: 20_000, label: '~20 KB', count: 2_000, warm: 500 },
]

/** Pause between the warm-up and the measured burst, ms. */
const SETTLE = 30
/** Whether clients can be stopped while their server queues a burst (POSIX signals). */
const PAUSE = platform() !== 'win32'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
const ROOT = here('../../../')
const BENCHMARKS = `${ROOT}BENCHMARKS.md`
const CACHE = `${ROOT}node_modules/.cache/wirefeed-bench-cpu`
const PROFILES = `${CACHE}/profiles`
const SOCKET_IO_BUNDLE = `${CACHE}/socket.io-client.browser.mjs`
const START = '<!-- cpu:start -->'
const END = '<!-- cpu:end -->'

// ---- arguments ----

const args = process.argv.slice(2)
const option = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = args.includes('--quick')
const repeats = Number(option('repeats') ?? (quick ? 3 : 15))
const only = option('only')?.split(',')
const sizesOption = option('sizes')?.split(',').map(Number)
// the floor is every ratio's denominator: always there
const CONTENDERS = ALL_CONTENDERS.filter((c) => !only || c.id === 'floor' || only.includes(c.id))
const SIZES = ALL_SIZES.filter((s) => !sizesOption || sizesOption.includes(s.bytes))
const partial = CONTENDERS.length < ALL_CONTENDERS.length || SIZES.length < ALL_SIZES.length
const profile = args.includes('--profile')
// a profiled run's figures carry the profiler's own cost: never recorded
const write = !profile && (args.includes('--write') || (!args.includes('--no-write') && !quick && !partial && repeats >= 15))
const known = /^--(quick|write|no-write|profile|repeats=.+|only=.+|sizes=.+)$/
const unknown = args.filter((a) => !known.test(a))
if (unknown.length > 0 || !Number.isInteger(repeats) || repeats < 1 || SIZES.length === 0 || (only && only.some((id) => !ALL_CONTENDERS.some((c) => c.id === id)))) {
  console.error(
    `cpu bench: bad arguments ${args.join(' ')}\n` +
      'usage: node test/bench/cpu/run.ts [--quick] [--repeats=N] [--only=id,id] [--sizes=200,2000,20000] [--profile] [--write | --no-write]\n' +
      `contenders: ${ALL_CONTENDERS.map((c) => c.id).join(', ')}`,
  )
  process.exit(2)
}
for (const file of ['dist/index.js', 'dist/server.js']) {
  if (!existsSync(ROOT + file)) {
    console.error(`cpu bench: ${file} is missing; run \`npm run build\` first`)
    process.exit(1)
  }
}

// ---- child processes ----


interface Sample {
  /** Client CPU per event, µs. */
  cpu: number
  /** Events per second, wall time between the first and the last measured event. */
  rate: number
}

interface Server {
  child: Child
  url: string
  frames: Record<string, number>
}

async function startServer(contender: Contender): Promise<Server> {
  const child = new Child(`server for ${contender.id}`, here('./server.ts'), [contender.server, SIZES.map((s) => s.bytes).join(',')])
  const m = await child.next('listening', 30_000)
  return { child, url: m.url as string, frames: m.frames as Record<string, number> }
}

/** One repeat: a fresh client process, a warm-up burst, a measured burst. */
async function runOnce(contender: Contender, server: Server, size: Size): Promise<Sample> {
  const env: Record<string, string> = { WIREFEED_BENCH_SOCKET_IO: pathToFileURL(SOCKET_IO_BUNDLE).href }
  if (profile) env.WIREFEED_BENCH_PROFILE = PROFILES
  const client = new Child(`client ${contender.id}`, here('./client.ts'), [contender.id, server.url, String(size.warm), String(size.count)], { env })
  /**
   * The client is stopped (SIGSTOP) while its server serialises and queues a burst, and continued
   * once the whole burst is queued: every client then reads from a socket that always has data,
   * whatever its server's own speed, and the two processes never compete for a core.
   */
  const burst = async (count: number): Promise<void> => {
    if (PAUSE) client.process.kill('SIGSTOP')
    server.child.send({ type: 'send', bytes: size.bytes, count })
    await server.child.next('sent')
    if (PAUSE) client.process.kill('SIGCONT')
  }
  try {
    await client.next('ready')
    await burst(size.warm)
    await client.next('warmed')
    // let the client finish what the warm-up left (its last event's bookkeeping, a pending GC step)
    await new Promise((resolve) => setTimeout(resolve, SETTLE))
    await burst(size.count)
    const result = await client.next('result')
    await client.exit()
    return { cpu: (result.cpuMicros as number) / size.count, rate: (size.count - 1) / ((result.wallMs as number) / 1000) }
  } catch (error) {
    client.process.kill('SIGKILL')
    throw error
  }
}

// ---- statistics and output ----

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const us = (v: number): string => (v >= 10 ? v.toFixed(1) : v.toFixed(2))
const thousands = (v: number): string => Math.round(v).toLocaleString('en-US')
const ratio = (v: number): string => `${v.toFixed(2)}x`

function version(name: string): string {
  const path = name === 'wirefeed' ? `${ROOT}package.json` : `${ROOT}node_modules/${name}/package.json`
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
}

function tables(samples: Map<string, Sample[]>, servers: Map<string, Server>): string {
  const out: string[] = []
  const medians = new Map<string, number>()
  const m = (id: string, size: Size): number => medians.get(`${id}@${size.bytes}`)!
  for (const size of SIZES) {
    for (const c of CONTENDERS) medians.set(`${c.id}@${size.bytes}`, median(samples.get(`${c.id}@${size.bytes}`)!.map((s) => s.cpu)))
    out.push(
      `### ${size.label} frames, ${thousands(size.count)} events per repeat`,
      '',
      '| contender | frame | client CPU per event, median | min – max | ratio to the floor | events/s (wall, median) |',
      '|---|---:|---:|---:|---:|---:|',
    )
    for (const c of CONTENDERS) {
      const list = samples.get(`${c.id}@${size.bytes}`)!
      const cpu = list.map((s) => s.cpu)
      const frame = servers.get(c.id)!.frames[size.bytes]!
      out.push(
        `| ${c.label} | ${thousands(frame)} B | ${us(m(c.id, size))} µs | ${us(Math.min(...cpu))} – ${us(Math.max(...cpu))} µs | ${ratio(m(c.id, size) / m('floor', size))} | ${thousands(median(list.map((s) => s.rate)))} |`,
      )
    }
    out.push('')
  }
  const ran = (id: string): boolean => CONTENDERS.some((c) => c.id === id)
  const lines: [string, string, string, string][] = [
    ['wirefeed / floor', 'wirefeed', 'floor', '≤ 1.25x'],
    ['wirefeed + zod (classic, JIT) / floor', 'wirefeed+zod', 'floor', '≤ 1.5x'],
    ['wirefeed + zod (classic, jitless) / floor', 'wirefeed+zod-jitless', 'floor', '≤ 1.5x'],
    ['reconnecting-websocket + JSON.parse / floor', 'reconnecting-websocket', 'floor', ''],
    ['partysocket + JSON.parse / floor', 'partysocket', 'floor', ''],
    ['socket.io-client / floor', 'socket.io', 'floor', ''],
    ['socket.io-client / wirefeed (how many times faster wirefeed is)', 'socket.io', 'wirefeed', '≥ 2x'],
    ['control: floor against the plain ws server / floor', 'floor-plain', 'floor', '≈ 1x'],
  ]
  out.push(
    '### Ratios of medians, measured side by side in this run',
    '',
    `| ratio | ${SIZES.map((s) => s.label).join(' | ')} | target (issue) |`,
    `|---|${SIZES.map(() => '---:|').join('')}---|`,
    ...lines
      .filter(([, a, b]) => ran(a) && ran(b))
      .map(([label, a, b, target]) => `| ${label} | ${SIZES.map((size) => ratio(m(a, size) / m(b, size))).join(' | ')} | ${target} |`),
  )
  return out.join('\n')
}

function section(body: string, command: string, seconds: number): string {
  const cpu = cpus()
  const names = ['wirefeed', 'zod', 'reconnecting-websocket', 'partysocket', 'socket.io-client', 'engine.io-client', 'socket.io', 'ws', 'esbuild']
  return [
    START,
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\`: ${repeats} repeats of each contender and size, ` +
      `round-robin, one client process per repeat (${Math.round(seconds)} s for this part).`,
    '',
    `Machine: ${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}, Node ${process.version}.`,
    `Every client uses Node's global WebSocket (undici), the one wirefeed is given.${PAUSE ? '' : ' Clients were not paused while their server queued a burst (no POSIX signals here).'}`,
    '',
    `Versions: ${names.map((n) => `${n} ${version(n)}`).join(', ')}.`,
    '',
    body,
    END,
  ].join('\n')
}

/** A gap between two profile samples this long (µs; they are 50 µs apart) is the process stopped, not working. */
const STOPPED_GAP = 5_000

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
}

/** Per contender, the functions with the most self time in the profiles of its measured bursts. */
function profileSummary(top = 25): string {
  const maps = new Map<string, SourceMap | undefined>()
  const sourceMap = (file: string): SourceMap | undefined => {
    if (!maps.has(file)) maps.set(file, existsSync(`${file}.map`) ? new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))) : undefined)
    return maps.get(file)
  }
  /** `function file:line`, the file relative to the repo and, for dist/, its place in src/. */
  const where = (frame: ProfileNode['callFrame']): string => {
    const name = frame.functionName || '(anonymous)'
    if (!frame.url) return name
    const file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url
    const found = file.startsWith(`${ROOT}dist/`) ? sourceMap(file)?.findEntry(frame.lineNumber, frame.columnNumber) : undefined
    const entry = found && 'originalSource' in found ? (found as { originalSource: string; originalLine: number }) : undefined
    if (entry) {
      const source = entry.originalSource.replace(/^.*?\/src\//, 'src/')
      return `${name} ${source}:${entry.originalLine + 1}`
    }
    return `${name} ${file.replace(ROOT, '')}:${frame.lineNumber + 1}`
  }
  const out: string[] = []
  for (const c of CONTENDERS) {
    const self = new Map<string, number>()
    let total = 0
    const files = readdirSync(PROFILES).filter((f) => f.startsWith(`${c.id}.`))
    for (const f of files) {
      const p = JSON.parse(readFileSync(`${PROFILES}/${f}`, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
      const byId = new Map(p.nodes.map((n) => [n.id, n]))
      p.samples.forEach((id, i) => {
        const frame = byId.get(id)!.callFrame
        const dt = p.timeDeltas[i] ?? 0
        // idle, and the one long gap of a process stopped while its server queued the burst
        if (frame.functionName === '(idle)' || dt > STOPPED_GAP) return
        const key = where(frame)
        self.set(key, (self.get(key) ?? 0) + dt)
        total += dt
      })
    }
    out.push(`${c.label}: self time in its measured bursts (${files.length} profiles, idle left out)`)
    for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${key}`)
    out.push('')
  }
  return out.join('\n')
}

function writeBenchmarks(text: string): void {
  const doc = readFileSync(BENCHMARKS, 'utf8')
  const start = doc.indexOf(START)
  const end = doc.indexOf(END)
  const next =
    start >= 0 && end > start
      ? doc.slice(0, start) + text + doc.slice(end + END.length)
      : `${doc.trimEnd()}\n\n## Client CPU per event, wirefeed and the alternatives\n\n${text}\n`
  writeFileSync(BENCHMARKS, next)
}

// ---- the run ----

const began = performance.now()
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`
console.log(`\nClient CPU per event: ${CONTENDERS.length} contenders x ${SIZES.length} sizes x ${repeats} repeats, each client in its own process.`)
console.log('Every client uses Node\'s global WebSocket (undici): the figures compare the pipelines above the socket, not socket libraries.\n')

if (profile) {
  rmSync(PROFILES, { recursive: true, force: true })
  mkdirSync(PROFILES, { recursive: true })
}
// socket.io-client as browsers get it (see client.ts): Node's export condition picks its debug build
await build({
  stdin: { contents: "export { io } from 'socket.io-client'", resolveDir: ROOT, loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: SOCKET_IO_BUNDLE,
  logLevel: 'warning',
})
const servers = new Map<string, Server>()
const samples = new Map<string, Sample[]>()
try {
  for (const c of CONTENDERS) servers.set(c.id, await startServer(c))
  for (let round = 0; round < repeats; round++) {
    for (const [s, size] of SIZES.entries()) {
      // rotate the order each round: no contender always runs right after the same one
      const shift = (round + s) % CONTENDERS.length
      const order = [...CONTENDERS.slice(shift), ...CONTENDERS.slice(0, shift)]
      for (const c of order) {
        const sample = await runOnce(c, servers.get(c.id)!, size)
        const key = `${c.id}@${size.bytes}`
        samples.set(key, [...(samples.get(key) ?? []), sample])
      }
    }
    process.stdout.write(`round ${round + 1}/${repeats} done (${Math.round((performance.now() - began) / 1000)} s)\n`)
  }
} finally {
  for (const server of servers.values()) {
    server.child.send({ type: 'stop' })
  }
  await Promise.all([...servers.values()].map((s) => s.child.exit()))
}

const seconds = (performance.now() - began) / 1000
const text = section(tables(samples, servers), command, seconds)
console.log(`\n${text.split('\n').slice(1, -1).join('\n')}\n`)
if (profile) console.log(`Profiles of the measured bursts (${PROFILES.replace(ROOT, '')}):\n\n${profileSummary()}`)
if (write) {
  writeBenchmarks(text)
  console.log('BENCHMARKS.md updated (the section between <!-- cpu:start --> and <!-- cpu:end -->).')
} else {
  const why = profile ? 'profiled run' : quick ? '--quick is a smoke run' : partial ? 'a partial run' : repeats < 15 ? 'fewer than 15 repeats' : '--no-write'
  console.log(`BENCHMARKS.md left as it was (${why}; add --write to record the figures).`)
}
