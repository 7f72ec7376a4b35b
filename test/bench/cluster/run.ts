/**
 * End-to-end latency and throughput of the reference server, one instance with its sessions in
 * memory against instances sharing them on Redis (`redisStore`), measured on the built package.
 *
 *   node test/bench/cluster/run.ts [--quick] [--write | --no-write]
 *
 * (`npm run bench` builds dist/ and runs this among its steps.) Each server instance is a process
 * of its own (`server.ts`); the clients are raw WebSocket peers in this process, speaking the
 * protocol by hand (`hello`, then events), spread evenly over the instances, all subscribed to
 * everything. Every event is published on the first instance, so with three instances two thirds
 * of the deliveries cross Redis to another process.
 *
 * - Latency: events published at a steady rate; for each delivery, the time from `publish()` to
 *   the client's `message` event (wall clock, same machine, both sides). p50 and p99 over every
 *   delivery of every round.
 * - Throughput: a burst published as fast as the publishing instance can; from the first publish
 *   to the last delivery to the last client. Events per second (each delivered to every client),
 *   and deliveries per second.
 *
 * It needs Redis at WIREFEED_REDIS_URL (default redis://127.0.0.1:6379); without it, it says so and
 * measures nothing. It prints a markdown table and rewrites the section between
 * `<!-- cluster:start -->` and `<!-- cluster:end -->` of BENCHMARKS.md (full runs only: `--quick`
 * is a smoke run that writes nothing unless given `--write`; `--no-write` never writes).
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, platform, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import WebSocket from 'ws'
import { Child, type Message } from '../child.ts'

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
const ROOT = here('../../../')
const BENCHMARKS = `${ROOT}BENCHMARKS.md`
const START = '<!-- cluster:start -->'
const END = '<!-- cluster:end -->'
const REDIS_URL = process.env.WIREFEED_REDIS_URL || 'redis://127.0.0.1:6379'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const write = !args.includes('--no-write') && (args.includes('--write') || !quick)
const unknown = args.filter((a) => !/^--(quick|write|no-write)$/.test(a))
if (unknown.length > 0) {
  console.error(`cluster bench: bad arguments ${args.join(' ')}\nusage: node test/bench/cluster/run.ts [--quick] [--write | --no-write]`)
  process.exit(2)
}
if (!existsSync(`${ROOT}dist/server.js`)) {
  console.error('cluster bench: dist/server.js is missing; run `npm run build` first')
  process.exit(1)
}

/** Clients in every set-up, spread evenly over its instances. */
const CLIENTS = 30
const ROUNDS = quick ? 1 : 5
/** Latency: events per round, one every STREAM_EVERY ms. */
const STREAM = quick ? 300 : 1_000
const STREAM_EVERY = 2
/** Throughput: events per round, as fast as the publisher goes. */
const BURST = quick ? 2_000 : 10_000
const WARM = 300

interface Setup {
  label: string
  instances: number
  store: 'memory' | 'redis'
}

const SETUPS: Setup[] = [
  { label: 'one instance, sessions in memory (the default)', instances: 1, store: 'memory' },
  { label: 'one instance, sessions on Redis', instances: 1, store: 'redis' },
  { label: 'three instances, sessions on Redis', instances: 3, store: 'redis' },
]

const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const EVENT_FRAME = Buffer.from('{"type":"event"')

/**
 * A client that counts events and, while `timing`, records per event the time from its publish.
 * During a burst it parses only the first event: the clients share one process, and their own
 * `JSON.parse` would otherwise be what limits the throughput measured.
 */
class Peer {
  received = 0
  lastAt = 0
  firstPublishedAt = Number.POSITIVE_INFINITY
  latencies: number[] = []
  timing = true
  private readonly ws: WebSocket
  readonly ready: Promise<void>

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false })
    this.ready = new Promise((resolve, reject) => {
      this.ws.once('error', reject)
      this.ws.once('open', () => this.ws.send(JSON.stringify({ type: 'hello', v: 1, session: null, after: null, events: [] })))
      this.ws.on('message', (raw: Buffer) => {
        const at = now()
        if (raw.subarray(0, EVENT_FRAME.length).equals(EVENT_FRAME)) {
          this.received++
          this.lastAt = at
          if (!this.timing && this.received > 1) return
          const t = (JSON.parse(String(raw)) as { data: { t: number } }).data.t
          if (this.timing) this.latencies.push(at - t)
          if (t < this.firstPublishedAt) this.firstPublishedAt = t
        } else if ((JSON.parse(String(raw)) as { type: string }).type === 'welcome') resolve()
      })
    })
  }

  reset(timing: boolean): void {
    this.received = 0
    this.lastAt = 0
    this.firstPublishedAt = Number.POSITIVE_INFINITY
    this.latencies = []
    this.timing = timing
  }

  close(): void {
    this.ws.terminate()
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50)

async function until(check: () => boolean, timeout: number, what: string): Promise<void> {
  const end = Date.now() + timeout
  while (!check()) {
    if (Date.now() > end) throw new Error(`cluster bench: timed out waiting for ${what}`)
    await sleep(5)
  }
}

interface Result {
  setup: Setup
  p50: number
  p99: number
  max: number
  deliveries: number
  /** Events per second delivered to every client, per round. */
  throughput: number[]
}

async function measure(setup: Setup): Promise<Result> {
  const prefix = `wirefeed-bench:${randomBytes(6).toString('hex')}:`
  const argv = setup.store === 'redis' ? ['redis', REDIS_URL, prefix] : ['memory']
  const servers = Array.from({ length: setup.instances }, (_, i) => new Child(`instance ${i + 1}`, here('./server.ts'), argv))
  const peers: Peer[] = []
  try {
    const urls = await Promise.all(servers.map(async (s) => (await s.next<Message & { url: string }>('listening')).url))
    for (let i = 0; i < CLIENTS; i++) peers.push(new Peer(urls[i % urls.length] as string))
    await Promise.all(peers.map((p) => p.ready))
    const publisher = servers[0] as Child
    // the publishing instance must know every session before the first event
    for (;;) {
      publisher.send({ type: 'stats' })
      if ((await publisher.next<Message & { sessions: number }>('stats')).sessions === CLIENTS) break
      await sleep(10)
    }
    const run = async (message: Message, count: number): Promise<void> => {
      for (const p of peers) p.reset(message.type === 'stream')
      publisher.send(message)
      await publisher.next('published', 120_000)
      await until(() => peers.every((p) => p.received >= count), 60_000, `${count} events at every client (${setup.label})`)
    }
    await run({ type: 'stream', count: WARM, every: 1 }, WARM)
    const latencies: number[] = []
    const throughput: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      await run({ type: 'stream', count: STREAM, every: STREAM_EVERY }, STREAM)
      for (const p of peers) latencies.push(...p.latencies)
      await run({ type: 'burst', count: BURST }, BURST)
      const first = Math.min(...peers.map((p) => p.firstPublishedAt))
      const last = Math.max(...peers.map((p) => p.lastAt))
      throughput.push(BURST / ((last - first) / 1000))
      console.log(`  ${setup.label}, round ${round + 1}: burst of ${BURST} in ${(last - first).toFixed(0)} ms`)
    }
    latencies.sort((a, b) => a - b)
    return { setup, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? Number.NaN, deliveries: latencies.length, throughput }
  } finally {
    for (const p of peers) p.close()
    for (const s of servers) s.send({ type: 'stop' })
    await Promise.all(servers.map((s) => s.exit()))
    if (setup.store === 'redis') await deleteKeys(prefix)
  }
}

async function redis() {
  const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 2000 } })
  client.on('error', () => {})
  await client.connect()
  return client
}

async function deleteKeys(prefix: string): Promise<void> {
  const client = await redis()
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys)
  await client.close()
}

async function redisVersion(): Promise<string | undefined> {
  try {
    const client = await redis()
    const info = await client.info('server')
    await client.close()
    return /redis_version:(\S+)/.exec(info)?.[1]
  } catch {
    return undefined
  }
}

const version = await redisVersion()
if (!version) {
  console.warn(`\n!!! cluster bench: Redis not reachable at ${REDIS_URL}: nothing measured (start redis-server, or set WIREFEED_REDIS_URL)\n`)
  process.exit(0)
}

const started = Date.now()
const results: Result[] = []
for (const setup of SETUPS) {
  console.log(`cluster bench: ${setup.label}`)
  results.push(await measure(setup))
}
const seconds = (Date.now() - started) / 1000

const ms = (v: number): string => `${v.toFixed(2)} ms`
const int = (v: number): string => Math.round(v).toLocaleString('en-US')
const base = results[0] as Result
const rows = results.map((r) => {
  const events = median(r.throughput)
  return `| ${r.setup.label} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${int(r.deliveries)} | ${int(events)} | ${int(events * CLIENTS)} | ${(events / median(base.throughput)).toFixed(2)}x |`
})
let serverVersion = version
try {
  serverVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim()
} catch {
  // redis-server not on this machine's PATH (a remote Redis): the version it reports will do
}
const cpu = cpus()
const pkg = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version
const command = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : `node test/bench/cluster/run.ts${args.length > 0 ? ` ${args.join(' ')}` : ''}`
const table = [
  START,
  `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (${Math.round(seconds)} s for this part), wirefeed ${pkg}.`,
  '',
  `Machine: ${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}, Node ${process.version}; Redis ${version} on 127.0.0.1 (\`${serverVersion}\`).`,
  '',
  `${CLIENTS} clients, spread evenly over the instances; ${ROUNDS} rounds per set-up. Latency: ${int(STREAM)} events per round, one every ${STREAM_EVERY} ms (${int(1000 / STREAM_EVERY)} events/s, ${int((1000 / STREAM_EVERY) * CLIENTS)} deliveries/s), every delivery of every round. Throughput: bursts of ${int(BURST)} events, median of the rounds; the ratio is to the first row.`,
  '',
  '| set-up | latency p50 | p99 | max | deliveries measured | events/s to all clients | deliveries/s | throughput ratio |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows,
  END,
].join('\n')
console.log(`\n${table}\n`)

if (write) {
  const doc = readFileSync(BENCHMARKS, 'utf8')
  const start = doc.indexOf(START)
  const end = doc.indexOf(END)
  if (start < 0 || end < start) {
    console.error(`cluster bench: no ${START} … ${END} section in BENCHMARKS.md; figures printed only`)
  } else {
    writeFileSync(BENCHMARKS, doc.slice(0, start) + table + doc.slice(end + END.length))
    console.log('cluster bench: BENCHMARKS.md updated')
  }
} else {
  console.log(`BENCHMARKS.md left as it was (${args.includes('--no-write') ? '--no-write' : '--quick is a smoke run'}; add --write to record the figures).`)
}
