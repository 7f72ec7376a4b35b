/**
 * Dispatch at scale, memory per handle, and catch-up after a reconnect, measured on the built
 * package (dist/index.js, dist/server.js) through its public API only, as an application uses it.
 *
 *   node test/bench/scale/run.ts [--quick] [--only=dispatch,memory,catchup] [--write | --no-write]
 *
 * (`--expose-gc` may be given; it is not needed: the parts that collect garbage run in processes
 * of their own, started with it.)
 *
 * 1. Dispatch (`inproc.ts dispatch`, no network): wall time per event through the client's
 *    receive path with one handle and one listener, against the same with 1,000 other handles on
 *    the connection, with 1,000 wildcard patterns, and with 1,000 handles each holding a pattern of
 *    its own. Interleaved rounds, medians, ratios to the one-handle case.
 * 2. Memory (`inproc.ts memory`): heap per deduplicated handle over 10,000 handles, and what is
 *    left once they are closed.
 * 3. Catch-up (`client.ts`, a client process; the reference server runs in this process): client
 *    CPU for 100 events received live against the same 100 received as a replay after a
 *    reconnection; then, over several restarts of the server on the same port, the time from the
 *    server being back up to the first live event, against the client's scheduled backoff delay
 *    plus one round trip.
 *
 * It prints markdown tables and rewrites the section between `<!-- scale:start -->` and
 * `<!-- scale:end -->` of BENCHMARKS.md (full runs only: `--quick` is a smoke run and `--only`
 * runs a part; those write nothing unless given `--write`; `--no-write` never writes).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, platform, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Child, type Message } from '../child.ts'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
const ROOT = here('../../../')
const BENCHMARKS = `${ROOT}BENCHMARKS.md`
const START = '<!-- scale:start -->'
const END = '<!-- scale:end -->'
const CPU_END = '<!-- cpu:end -->'
const HEADING = '## Dispatch at scale, memory per handle, catch-up'

// ---- arguments ----

type Part = 'dispatch' | 'memory' | 'catchup'
const PARTS: Part[] = ['dispatch', 'memory', 'catchup']
const args = process.argv.slice(2)
const option = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const quick = args.includes('--quick')
const only = option('only')?.split(',')
const parts = PARTS.filter((p) => !only || only.includes(p))
const write = !args.includes('--no-write') && (args.includes('--write') || (!quick && !only))
const unknown = args.filter((a) => !/^--(quick|write|no-write|expose-gc|only=.+)$/.test(a))
if (unknown.length > 0 || (only && only.some((p) => !PARTS.includes(p as Part)))) {
  console.error(`scale bench: bad arguments ${args.join(' ')}\nusage: node test/bench/scale/run.ts [--quick] [--only=${PARTS.join(',')}] [--write | --no-write]`)
  process.exit(2)
}
for (const file of ['dist/index.js', 'dist/server.js']) {
  if (!existsSync(ROOT + file)) {
    console.error(`scale bench: ${file} is missing; run \`npm run build\` first`)
    process.exit(1)
  }
}

const SETTINGS = quick
  ? { dispatchRounds: 2, dispatchEvents: 20_000, handles: 10_000, memoryRounds: 1, catchupWarm: 1, catchupRounds: 3, restarts: 2 }
  : { dispatchRounds: 9, dispatchEvents: 200_000, handles: 10_000, memoryRounds: 3, catchupWarm: 3, catchupRounds: 25, restarts: 8 }
/** Events per catch-up run: what is missed during an outage, or received live. */
const BURST = 100
/** Gap between two live events in the "live, spaced" runs, ms. */
const SPACING = 2
/** Backoff of the catch-up CPU client (short: it reconnects once per round) and of the restart client. */
const CPU_BACKOFF = { minDelay: 100, maxDelay: 200 }
const RESTART_BACKOFF = { minDelay: 200, maxDelay: 1600 }
/** How long the server stays down at each restart, ms: spread over the client's backoff steps. */
const DOWN_TIMES = [120, 900, 350, 1_700, 60, 600, 1_200, 250]
/** A session open this long resets the client's backoff schedule (README, reconnect policy), plus a margin, ms. */
const STABLE = 5_300
/** How often the server publishes while the restarts are measured, ms. */
const TICK = 1
/** Time given to the client to take its CPU reading, or to the server to write a burst, ms. */
const ARM_SETTLE = 30
/** Whether the client can be stopped while the server queues a live burst (POSIX signals). */
const PAUSE = platform() !== 'win32'

// ---- child processes ----


// ---- statistics and formatting ----

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const thousands = (v: number): string => Math.round(v).toLocaleString('en-US')
const ratio = (v: number): string => `${v.toFixed(2)}x`
const fixed = (v: number, digits = 1): string => v.toFixed(digits)
const ms = (ns: number): string => `${(ns / 1e6).toFixed(1)} ms`
const sleep = (t: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, t))
const now = (): number => Number(process.hrtime.bigint())
const holds = (ok: boolean): string => (ok ? 'yes' : '**no**')

// ---- 1. dispatch ----

interface DispatchResult {
  samples: Record<'a' | 'b' | 'c' | 'd', number[]>
  counts: Record<string, number>
  frameBytes: number
  handles: Record<string, number>
}

const SETUPS: { id: 'a' | 'b' | 'c' | 'd'; label: string; patterns: string }[] = [
  { id: 'a', label: 'a. 1 handle, 1 listener on the event', patterns: '1' },
  { id: 'b', label: 'b. a + 1,000 deduplicated handles, each listening to an event of its own', patterns: '1' },
  { id: 'c', label: 'c. 1 handle subscribed to 1,000 wildcard patterns + the matching one', patterns: '1,001' },
  { id: 'd', label: 'd. a + 1,000 deduplicated handles, each with a wildcard pattern and a listener of its own', patterns: '1,001' },
]

/** What each part hands back: its table, a one-line summary, and its rows of the targets table. */
interface PartResult {
  table: string
  summary: string
  targets: string[]
}

async function dispatch(): Promise<PartResult> {
  const child = new Child('dispatch', here('./inproc.ts'), ['dispatch', String(SETTINGS.dispatchRounds), String(SETTINGS.dispatchEvents)], { execArgv: ['--expose-gc'] })
  const r = await child.next<Message & DispatchResult>('dispatch', 170_000)
  await child.exit()
  const base = median(r.samples.a)
  let worst = 0
  const rows = SETUPS.map((s) => {
    const list = r.samples[s.id]
    const m = median(list)
    const q = m / base
    if (s.id !== 'a') worst = Math.max(worst, q)
    return `| ${s.label} | ${thousands(r.handles[s.id]!)} | ${s.patterns} | ${thousands(r.counts[s.id]!)} | ${thousands(m)} ns | ${thousands(Math.min(...list))} – ${thousands(Math.max(...list))} ns | ${ratio(q)} | ${s.id === 'a' ? '' : holds(q <= 2)} |`
  })
  const table = [
    `### Dispatch cost with 1,000 handles or patterns (in-process, ${r.frameBytes} B frames)`,
    '',
    `${SETTINGS.dispatchRounds} rounds, the four set-ups in turn in each (the order rotated every round); wall time per event, median of the rounds.`,
    '',
    '| set-up | handles on the connection | patterns subscribed | events per run | per event, median | min – max | ratio to a | ≤ 2x (target) |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n')
  const targets = [`| dispatch cost with 1,000 other handles or 1,000 wildcard patterns, per event, against one handle | ≤ 2x | ${ratio(worst)} (worst of b, c, d) | ${holds(worst <= 2)} |`]
  return { table, summary: `dispatch: worst ratio to one handle ${ratio(worst)} (target ≤ 2x)`, targets }
}

// ---- 2. memory ----

interface HeapStep {
  variant: 'app' | 'bare' | 'listener' | 'full'
  baseline: number
  loaded: number
  released: number
}

interface MemoryResult {
  count: number
  steps: HeapStep[]
  sockets: number
  sent: Record<string, number>
}

async function memory(): Promise<PartResult> {
  const child = new Child('memory', here('./inproc.ts'), ['memory', String(SETTINGS.handles), String(SETTINGS.memoryRounds)], { execArgv: ['--expose-gc'] })
  const r = await child.next<Message & MemoryResult>('memory', 120_000)
  await child.exit()
  const per = (x: HeapStep): number => (x.loaded - x.baseline) / r.count
  const left = (x: HeapStep): number => (x.released - x.baseline) / r.count
  const of = (variant: HeapStep['variant']): HeapStep[] => r.steps.filter((x) => x.variant === variant)
  const full = of('full')
  const perHandle = median(full.map(per))
  const app = median(of('app').map(per))
  const mib = (bytes: number): string => `${fixed(bytes / 2 ** 20, 2)} MiB`
  const row = (label: string, x: HeapStep): string => `| ${label} | ${mib(x.baseline)} | ${mib(x.loaded)} | ${thousands(per(x))} B | ${thousands(left(x))} B |`
  const table = [
    `### Memory per deduplicated handle (${thousands(r.count)} handles on one connection)`,
    '',
    `One handle opens the connection first and stays (not counted). Each step creates ${thousands(r.count)} objects, reads the heap, ` +
      'closes and drops them, and reads it again; each reading follows forced collections (`--expose-gc`). The measured case ' +
      `(each handle with one \`on()\` listener and one \`subscribe()\` of a pattern of its own) runs ${full.length} times after one unreported ` +
      `warm-up; the steps before it show where the bytes go. Sockets open at the end: ${r.sockets}; frames the client sent over the whole run: ` +
      `${Object.entries(r.sent).map(([t, n]) => `${thousands(n)} \`${t}\``).join(', ')}.`,
    '',
    '| each of the objects | heap before | with them | per object | left per object after closing |',
    '|---|---:|---:|---:|---:|',
    row("the app's own objects only, no client: options object, listener closure, event name, pattern", of('app')[0]!),
    row('a bare handle: `new RealtimeClient(options)`', of('bare')[0]!),
    row('a handle with one `on()` listener', of('listener')[0]!),
    ...full.map((x, i) => row(`a handle with one \`on()\` listener and one \`subscribe()\` (round ${i + 1})`, x)),
    '',
    `Per handle, the measured case: **${thousands(perHandle)} B** (median; target ≤ 2,048 B: ${holds(perHandle <= 2048)}), ` +
      `of which ${thousands(app)} B are the app's own objects and ${thousands(perHandle - app)} B the client's. ` +
      `Left after closing: ${thousands(median(full.map(left)))} B per handle.`,
  ].join('\n')
  const targets = [`| heap per deduplicated handle (one listener, one pattern), over ${thousands(r.count)} handles | ≤ 2,048 B | ${thousands(perHandle)} B (${thousands(perHandle - app)} B of it the client's) | ${holds(perHandle <= 2048)} |`]
  return {
    table,
    summary: `memory: ${thousands(perHandle)} B per handle (target ≤ 2,048 B; ${thousands(app)} B of it the app's own objects), ${thousands(median(full.map(left)))} B per handle left after close`,
    targets,
  }
}

// ---- 3. catch-up ----

type Publish = (count: number) => void

interface ServerHandle {
  publish: Publish
  port: number
  url: string
  /** Cut every socket (the client sees 1006); the sessions stay. */
  dropConnections(): void
  close(): Promise<void>
}

/** The host-metrics payload of the CPU harness's ~200 B frames. */
const PAYLOAD = { host: 'web-17', cpu: 0.42, mem: 0.71, load: [1.2, 0.9, 0.8], tags: { region: 'eu-west', role: 'api' }, procs: [] }

async function startServer(port = 0): Promise<ServerHandle> {
  const { createRealtimeServer } = await import('wirefeed/server')
  const rt = createRealtimeServer({
    port,
    pollPath: false,
    statsPath: false,
    // a burst of 100 missed events fits, with room to spare
    replayBuffer: 1_000,
    // no server ping inside a measured window
    heartbeat: 600_000,
  })
  await rt.ready
  return {
    publish: (count) => {
      for (let i = 0; i < count; i++) rt.publish('host.metrics', PAYLOAD)
    },
    port: rt.port!,
    url: rt.url!,
    dropConnections: () => rt.dropConnections(),
    close: () => rt.close(),
  }
}

interface ReplayMessage extends Message {
  handshakeMicros: number
  replayMicros: number
  firstSeq: number
  lastBefore: number
  lastSeq: number
  resyncs: number
}

async function catchupCpu(server: ServerHandle): Promise<PartResult> {
  const client = new Child('catch-up client', here('./client.ts'), [server.url, 'cpu', String(CPU_BACKOFF.minDelay), String(CPU_BACKOFF.maxDelay)])
  await client.next('up', 30_000)
  const live = async (spaced: boolean, count = BURST): Promise<number> => {
    client.send({ type: 'arm', count })
    // the client takes its reading as it gets `arm`, and answers nothing (no IPC in the window)
    await sleep(ARM_SETTLE)
    if (spaced) {
      for (let i = 0; i < BURST; i++) {
        server.publish(1)
        await sleep(SPACING)
      }
    } else {
      // stopped while the server writes the burst, the client finds it all queued when continued,
      // whatever the race between the server's writes and its reads would have been
      if (PAUSE) client.process.kill('SIGSTOP')
      server.publish(count)
      await sleep(ARM_SETTLE)
      if (PAUSE) client.process.kill('SIGCONT')
    }
    return (await client.next<Message & { cpuMicros: number }>('live')).cpuMicros
  }
  const replay = async (): Promise<ReplayMessage> => {
    client.send({ type: 'expect-replay', count: BURST })
    await client.next('expecting')
    client.drain('down')
    server.dropConnections()
    await client.next('down')
    server.publish(BURST)
    const r = await client.next<ReplayMessage>('replay')
    if (r.firstSeq !== r.lastBefore + 1 || r.lastSeq !== r.lastBefore + BURST || r.resyncs !== 0) {
      throw new Error(`replay: seqs ${r.firstSeq}..${r.lastSeq} after ${r.lastBefore}, ${r.resyncs} resyncs: not a clean resume`)
    }
    return r
  }
  /** The CPU the client spends over the same span as a spaced run, with no event at all. */
  const idle = async (): Promise<number> => {
    client.send({ type: 'idle-start' })
    await sleep(ARM_SETTLE)
    for (let i = 0; i < BURST; i++) await sleep(SPACING)
    client.send({ type: 'idle-stop' })
    return (await client.next<Message & { cpuMicros: number }>('idle')).cpuMicros
  }
  const kinds = ['burst', 'spaced', 'idle', 'replay'] as const
  const samples = { burst: [] as number[], spaced: [] as number[], idle: [] as number[], replayOnly: [] as number[], handshake: [] as number[], replayAll: [] as number[] }
  // JIT warm-up of the receive path: a few thousand live events, not measured
  await live(false, 5_000)
  const total = SETTINGS.catchupWarm + SETTINGS.catchupRounds
  for (let round = 0; round < total; round++) {
    const shift = round % kinds.length
    for (const kind of [...kinds.slice(shift), ...kinds.slice(0, shift)]) {
      const record = round >= SETTINGS.catchupWarm
      if (kind === 'replay') {
        const r = await replay()
        if (record) {
          samples.replayOnly.push(r.replayMicros)
          samples.handshake.push(r.handshakeMicros)
          samples.replayAll.push(r.handshakeMicros + r.replayMicros)
        }
      } else {
        const cpu = kind === 'idle' ? await idle() : await live(kind === 'spaced')
        if (record) samples[kind].push(cpu)
      }
    }
  }
  client.send({ type: 'stop' })
  await client.exit()
  const burst = median(samples.burst)
  const spaced = median(samples.spaced)
  const row = (label: string, list: number[], vsLive: boolean): string => {
    const m = median(list)
    const ratios = vsLive ? `${ratio(m / burst)} | ${ratio(m / spaced)}` : ' | '
    return `| ${label} | ${thousands(m)} µs | ${thousands(Math.min(...list))} – ${thousands(Math.max(...list))} µs | ${fixed(m / BURST, 2)} µs | ${ratios} |`
  }
  const replayOnly = median(samples.replayOnly) / burst
  const replayAll = median(samples.replayAll) / burst
  const table = [
    `### Catch-up: client CPU for ${BURST} events, live and replayed (real sockets, client and server in separate processes)`,
    '',
    `${SETTINGS.catchupRounds} rounds (after ${SETTINGS.catchupWarm} of warm-up), the four kinds in turn in each (the order rotated every round); client CPU (\`process.cpuUsage()\`, user + system), median of the rounds.`,
    '',
    `| ${BURST} events received | client CPU, median | min – max | per event | ratio to live, burst | ratio to live, spaced |`,
    '|---|---:|---:|---:|---:|---:|',
    row(`live, back to back: published while the client is stopped${PAUSE ? '' : ' (not here: no POSIX signals)'}, read in one go`, samples.burst, true),
    row(`live, one every ${SPACING} ms`, samples.spaced, true),
    row(`no event, over the same ${BURST} × ${SPACING} ms (the floor under the spaced row)`, samples.idle, false),
    row('replayed after a reconnection: replay only (`welcome` → last event)', samples.replayOnly, true),
    row('replayed after a reconnection, including the handshake (attempt → last event)', samples.replayAll, true),
    row('the handshake alone (attempt → `welcome`: TCP, upgrade, `hello`)', samples.handshake, false),
  ].join('\n')
  const summary =
    `catch-up CPU: replay only ${ratio(replayOnly)} of live (burst), ${ratio(median(samples.replayOnly) / spaced)} of live (spaced); ` +
    `including the handshake ${ratio(replayAll)} / ${ratio(median(samples.replayAll) / spaced)} (target ≤ 1x)`
  const vsSpaced = median(samples.replayOnly) / spaced
  const allVsSpaced = median(samples.replayAll) / spaced
  const targets = [
    `| client CPU for ${BURST} missed events replayed after a reconnection (\`welcome\` → last), against the same ${BURST} live | ≤ 1x | ${ratio(replayOnly)} of live back to back, ${ratio(vsSpaced)} of live one every ${SPACING} ms | ${holds(replayOnly <= 1 && vsSpaced <= 1)} |`,
    `| the same, including the reconnection's handshake (attempt → last) | ≤ 1x | ${ratio(replayAll)} of live back to back, ${ratio(allVsSpaced)} of live one every ${SPACING} ms | ${replayAll <= 1 && allVsSpaced <= 1 ? 'yes' : allVsSpaced <= 1 ? 'against spaced live only' : '**no**'} |`,
  ]
  return { table, summary, targets }
}

interface UpMessage extends Message {
  at: number
  attemptAt: number
  createdAt: number
  openAt: number
  helloAt: number
  welcomeAt: number
  scheduled: { at: number; delay: number }[]
}

interface Restart {
  down: number
  up: number
  /** The delay the client had scheduled for the attempt that got through, ms (its logger); NaN if unknown. */
  delay: number
  /** How many attempts failed while the server was down. */
  failed: number
  attempt: number
  created: number
  open: number
  hello: number
  welcome: number
  first: number
  resyncs: string[]
}

async function restarts(): Promise<PartResult> {
  let server = await startServer()
  const port = server.port
  const client = new Child('restart client', here('./client.ts'), [server.url, 'restart', String(RESTART_BACKOFF.minDelay), String(RESTART_BACKOFF.maxDelay)])
  // the server publishes all along (nothing while it is down): the first event after a welcome is at most TICK away
  let live = true
  const publisher = setInterval(() => live && server.publish(1), TICK)
  const list: Restart[] = []
  try {
    await client.next('up', 30_000)
    await client.next('first')
    for (let k = 0; k < SETTINGS.restarts; k++) {
      // long enough for the client's backoff schedule to start again from its first step
      await sleep(STABLE)
      client.drain('down')
      client.drain('resync')
      live = false
      const downAt = now()
      await server.close()
      await client.next('down')
      const downFor = DOWN_TIMES[k % DOWN_TIMES.length]!
      await sleep(Math.max(0, downFor - (now() - downAt) / 1e6))
      server = await startServer(port)
      const upAt = now()
      live = true
      if (server.port !== port) throw new Error(`the server came back on port ${server.port}, not ${port}`)
      const up = await client.next<UpMessage>('up', 30_000)
      const first = await client.next<Message & { at: number }>('first')
      // a resync is reported while the welcome is handled, before any event: it is in by now
      const resyncs = client.drain('resync').map((m) => String(m.reason))
      const last = up.scheduled.filter((s) => s.at <= up.attemptAt).at(-1)
      list.push({
        down: upAt - downAt,
        up: upAt,
        delay: last ? last.delay : Number.NaN,
        failed: Math.max(0, up.scheduled.length - 1),
        attempt: up.attemptAt,
        created: up.createdAt,
        open: up.openAt,
        hello: up.helloAt,
        welcome: up.welcomeAt,
        first: first.at,
        resyncs,
      })
    }
  } finally {
    clearInterval(publisher)
    client.send({ type: 'stop' })
    await client.exit()
    await server.close()
  }
  const rtt = (r: Restart): number => r.welcome - r.hello
  const bound = (r: Restart): number => r.delay * 1e6 + rtt(r)
  /** Attempt → first live event, less one round trip: the excess when the server is back just as the wait starts. */
  const worst = (r: Restart): number => r.first - r.attempt - rtt(r)
  const rows = list.map(
    (r, i) =>
      `| ${i + 1} | ${ms(r.down)} | ${r.failed} | ${Number.isNaN(r.delay) ? 'n/a' : `${r.delay} ms`} | ${ms(r.attempt - r.up)} | ${ms(r.created - r.attempt)} | ` +
      `${ms(r.open - r.created)} | ${fixed(rtt(r) / 1e6, 2)} ms | ${ms(r.first - r.welcome)} | ${ms(r.first - r.up)} | ${ms(bound(r))} | ${ms(r.first - r.up - bound(r))} | ${ms(worst(r))} | ${r.resyncs.join(', ') || 'none'} |`,
  )
  const excess = Math.max(...list.map((r) => r.first - r.up - bound(r)))
  const worstExcess = median(list.map(worst))
  const resyncs = [...new Set(list.map((r) => r.resyncs.join(', ') || 'none'))].join(' / ')
  const table = [
    '### Server back up → live delivery (real sockets, the server restarted on the same port)',
    '',
    `The client's backoff: \`reconnect: { minDelay: ${RESTART_BACKOFF.minDelay}, maxDelay: ${RESTART_BACKOFF.maxDelay}, factor: 2, jitter: 0.2 }\`. ` +
      `Before each restart the session stays open ${fixed(STABLE / 1000)} s, so the schedule starts again from its first step; ` +
      `the server then closes (every socket gets 1001) and is down for the time given, while the client's attempts fail. ` +
      `The server publishes one event every ${TICK} ms while it is up. Times are the machine's monotonic clock, read in both processes. ` +
      'The last excess column is what the excess would be had the server come back just as the wait began: attempt → first live event, less the RTT.',
    '',
    '| restart | server down | failed attempts | scheduled delay of the attempt that got through | server up → attempt | attempt → socket created | socket created → open (TCP, upgrade) | RTT (`hello` → `welcome`) | `welcome` → first event | server up → first live event | bound: delay + RTT | excess over the bound | excess, worst case | resync reported |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    `Every restart was live within the bound: ${holds(excess <= 0)} (largest excess ${ms(excess)}). ` +
      `Attempt → first live event, median ${ms(median(list.map((r) => r.first - r.attempt)))}: one RTT of ${fixed(median(list.map(rtt)) / 1e6, 2)} ms ` +
      `(median) plus ${ms(worstExcess)}: from the attempt to the socket's creation ${ms(median(list.map((r) => r.created - r.attempt)))}, ` +
      `TCP connect and HTTP upgrade ${ms(median(list.map((r) => r.open - r.created)))}, open → \`hello\` ${ms(median(list.map((r) => r.hello - r.open)))}, ` +
      `and the wait for the next published event (one every ${TICK} ms) ${ms(median(list.map((r) => r.first - r.welcome)))} (medians).`,
  ].join('\n')
  const summary =
    `server back up → live: largest excess over delay + RTT ${ms(excess)} (≤ 0 holds the bound); worst case (back as the wait begins) ${ms(worstExcess)} over; resyncs: ${resyncs}`
  const targets = [
    `| server back up → first live event, against the scheduled backoff delay + one RTT | ≤ delay + RTT | largest excess ${ms(excess)} over ${list.length} restarts; ${ms(worstExcess)} over had the server come back as the wait began (median) | ${holds(excess <= 0)}${worstExcess > 0 ? ' (not in the worst case)' : ''} |`,
  ]
  return { table, summary, targets }
}

// ---- BENCHMARKS.md ----

function section(body: string, seconds: number): string {
  const cpu = cpus()
  const version = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version
  return [
    START,
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (${Math.round(seconds)} s for this part), wirefeed ${version}.`,
    '',
    `Machine: ${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}, Node ${process.version}.`,
    '',
    body,
    END,
  ].join('\n')
}

const INTRO = `Command: \`npm run bench\` (its step \`node test/bench/scale/run.ts\` rewrites the section between the
\`scale:start\` and \`scale:end\` markers below). \`node test/bench/scale/run.ts --quick\` is a smoke run that
prints the tables and records nothing; \`--only=dispatch,memory,catchup\` runs a part, and \`--no-write\`
prints only. Everything runs on the built package (\`dist/\`) through its public API, as an application
uses it. The scripts are in \`test/bench/scale/\`.

What is measured:

- **Dispatch** (\`inproc.ts dispatch\`, no network): the client gets a scripted WebSocket class
  through its \`WebSocket\` option. The class opens at once, answers \`hello\` with \`welcome\`, and hands
  the client pre-built v1 \`event\` frames (~190 B, seq going up), one message event each,
  synchronously in a loop. The figure is the wall time per event (\`process.hrtime.bigint()\` around a
  run of up to 200,000 events, fewer for a set-up whose events cost more, after a forced collection)
  of everything above the socket: the size check, \`JSON.parse\`, the envelope check, seq tracking, and
  handing the event to the handles and to the one listener that wants it. The other handles and
  patterns live on the same connection (\`dedupe\` on, the same \`url\`) and never get an event.
  Target (issue): every set-up at most 2x the one-handle cost.
- **Memory** (\`inproc.ts memory\`): \`process.memoryUsage().heapUsed\` after forced collections, before
  and after creating 10,000 deduplicated handles, divided by 10,000. The first handle, the one that
  opens the connection, exists before the baseline and is not counted. Each handle comes with what an
  app component would create for it: its options object, one listener closure, one event name and one
  pattern string. A step with those objects alone, and steps with bare handles and with handles that
  only listen, show where the bytes go. Target: at most 2 KB (2,048 B) per handle. "Left" is the heap
  after closing the handles, against the baseline.
- **Catch-up CPU** (\`client.ts\`, a client process; the reference server runs in the harness's
  process): the client's own CPU (\`process.cpuUsage()\`, user + system, all threads) for 100 events
  (~190 B frames), arriving in one of three ways. *Live, back to back*: the client is stopped
  (SIGSTOP) while the server writes the 100, then continued, so it reads them in one go, as in the
  CPU section above. *Live, spaced*: one every 2 ms, each a wake-up of its own; the *no event* row
  is the same span with nothing sent, the floor under it. *Replayed*: the server cuts the socket
  (\`dropConnections()\`) and publishes the 100 while the client waits for its backoff step; the
  client resumes its session and gets them after \`welcome\`. "Replay only" counts from \`welcome\` to
  the 100th event. "Including the handshake" counts from the start of the attempt (the \`url\` function
  called) to the 100th event, so it adds the TCP connect, the HTTP upgrade and \`hello\`/\`welcome\`,
  which live events never pay. No IPC message crosses a measured window. Target: the replay at most
  as costly as receiving the same events live.
- **Server back up → live**: the server is closed and started again on the same port. The table
  gives the time from the server listening again to the first live event the client delivers. It
  compares that time with the delay the client had scheduled for the attempt that got through (read
  from its \`logger\`) plus one round trip (\`hello\` → \`welcome\` on that socket). A negative excess
  means the client was live within the bound. A restart loses the server's sessions, so the table
  also shows the \`resync\` the client reports each time.

The figures of one run move with the load on the machine, the catch-up CPU rows most: they are
medians of many short windows (about 1 to 10 ms of CPU each), so compare runs, not single figures.`

function writeBenchmarks(text: string): void {
  const doc = readFileSync(BENCHMARKS, 'utf8')
  const start = doc.indexOf(START)
  const end = doc.indexOf(END)
  let next: string
  if (start >= 0 && end > start) next = doc.slice(0, start) + text + doc.slice(end + END.length)
  else {
    // a new section after the CPU section (its end marker and any text that follows it, up to the next heading)
    const cpuEnd = doc.indexOf(CPU_END)
    const from = cpuEnd >= 0 ? cpuEnd + CPU_END.length : doc.length
    const heading = doc.slice(from).search(/\n## /)
    const at = heading >= 0 ? from + heading : doc.length
    const block = `${HEADING}\n\n${INTRO}\n\n${text}\n`
    next = `${doc.slice(0, at).trimEnd()}\n\n${block}${at < doc.length ? `\n${doc.slice(at).replace(/^\n+/, '')}` : ''}`
  }
  writeFileSync(BENCHMARKS, next)
}

// ---- the run ----

const began = performance.now()
const command =
  process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}` : `node test/bench/scale/run.ts${args.length ? ` ${args.join(' ')}` : ''}`
const elapsed = (): string => `${Math.round((performance.now() - began) / 1000)} s`
console.log(`\nScale: ${parts.join(', ')}${quick ? ' (quick smoke run)' : ''}; dist/ through the public API.\n`)
const tables: string[] = []
const targets: string[] = []
const record = (r: PartResult): void => {
  tables.push(r.table)
  targets.push(...r.targets)
  console.log(`${r.summary} (${elapsed()})`)
}
if (parts.includes('dispatch')) record(await dispatch())
if (parts.includes('memory')) record(await memory())
if (parts.includes('catchup')) {
  const cpuServer = await startServer()
  try {
    record(await catchupCpu(cpuServer))
  } finally {
    await cpuServer.close()
  }
  record(await restarts())
}

const seconds = (performance.now() - began) / 1000
const summaryTable = ['### Targets of the issue, in this run', '', '| target | bound | measured | holds |', '|---|---|---|---|', ...targets].join('\n')
const text = section([summaryTable, ...tables].join('\n\n'), seconds)
console.log(`\n${text.split('\n').slice(1, -1).join('\n')}\n`)
if (write) {
  writeBenchmarks(text)
  console.log('BENCHMARKS.md updated (the section between <!-- scale:start --> and <!-- scale:end -->).')
} else {
  console.log(`BENCHMARKS.md left as it was (${args.includes('--no-write') ? '--no-write' : quick ? '--quick is a smoke run' : 'a partial run'}; add --write to record the figures).`)
}
