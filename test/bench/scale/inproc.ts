/**
 * The in-process parts of the scale harness, each run in a fresh process forked by `run.ts` (with
 * `--expose-gc`), which reads the result from the IPC channel:
 *
 *   node --expose-gc test/bench/scale/inproc.ts dispatch <rounds> <events per run>
 *   node --expose-gc test/bench/scale/inproc.ts memory <handles> <rounds>
 *
 * Neither touches the network. The client (`RealtimeClient` from dist/index.js, the public API and
 * nothing else) is given a scripted WebSocket class through its `WebSocket` option: a socket with
 * the browser's surface that opens at once, answers the client's `hello` with a `welcome`, and
 * lets the harness hand it v1 `event` frames, one message event per frame, synchronously.
 *
 * `dispatch` measures the wall time per event of the whole receive path above the socket (size
 * check, JSON.parse, envelope check, seq tracking, handing the event to the handles and their
 * listeners) under four set-ups, interleaved in rounds:
 *   a. one handle, one listener on the event;
 *   b. a. plus 1,000 more handles on the same connection (deduplicated), each with a listener on
 *      an event of its own that never arrives;
 *   c. one handle whose subscription holds 1,000 wildcard patterns (`host.h<i>.*`) plus `host.*`,
 *      the one that matches, and one listener on the event;
 *   d. a. plus 1,000 more handles on the same connection, each subscribed to a wildcard pattern of
 *      its own and listening to an event of its own that never arrives.
 *
 * `memory` measures the heap (`process.memoryUsage().heapUsed` after forced collections) taken by
 * deduplicated handles: one handle opens the connection (not counted), then `handles` more on the
 * same URL, each with one `on()` listener and one `subscribe()` of its own pattern; then they are
 * all closed and the heap is measured again. To show where the bytes go, it also measures the
 * app's own objects alone, bare handles, and handles with a listener but no subscription.
 */
import type { RealtimeClient as Client, WebSocketConstructor } from 'wirefeed'

export {}

const EVENT = 'host.metrics'
const TS = 1767225600000
/** The host-metrics payload of the CPU harness's ~200 B frames (see test/bench/cpu/server.ts). */
const PAYLOAD = JSON.stringify({ host: 'web-17', cpu: 0.42, mem: 0.71, load: [1.2, 0.9, 0.8], tags: { region: 'eu-west', role: 'api' }, procs: [] })
const frameOf = (seq: number): string => `{"type":"event","seq":${seq},"event":"${EVENT}","data":${PAYLOAD},"ts":${TS}}`
const OTHERS = 1_000

const send = (message: unknown): void => void process.send?.(message)
const fail = (why: string): never => {
  console.error(`scale bench (${process.argv[2] ?? '?'}): ${why}`)
  process.exit(1)
}
const gc = globalThis.gc
if (typeof gc !== 'function') fail('run with --expose-gc (run.ts does)')

// ---- the scripted socket ----

type Listener = ((event: unknown) => void) | { handleEvent(event: unknown): void }
type SocketEventType = 'open' | 'message' | 'close' | 'error'

/**
 * A WebSocket with the browser's surface and no network: it opens on the next turn of the event
 * loop, answers `hello` with a `welcome` (a new session at seq 0, no heartbeat), and delivers the
 * frames `deliver()` is given as message events, synchronously, each to every listener.
 */
class ScriptedSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  /** The open socket of each URL, for the harness to feed. */
  static readonly byUrl = new Map<string, ScriptedSocket>()

  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3
  readonly url: string
  readyState = 0
  binaryType = 'blob'
  bufferedAmount = 0
  extensions = ''
  protocol = ''
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: unknown) => void) | null = null
  onclose: ((event: unknown) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  /** Frames the client sent, by type (`hello`, `subscribe`, ...). */
  readonly sent = new Map<string, number>()
  private readonly listeners: Record<SocketEventType, Listener[]> = { open: [], message: [], close: [], error: [] }

  constructor(url: string) {
    this.url = url
    setTimeout(() => {
      if (this.readyState !== 0) return
      this.readyState = 1
      ScriptedSocket.byUrl.set(url, this)
      this.fire('open', { type: 'open', target: this })
    })
  }

  addEventListener(type: SocketEventType, listener: Listener): void {
    const list = this.listeners[type]
    if (list && !list.includes(listener)) list.push(listener)
  }

  removeEventListener(type: SocketEventType, listener: Listener): void {
    const list = this.listeners[type]
    if (list) this.listeners[type] = list.filter((l) => l !== listener)
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('scripted socket: send() while not open')
    const type = /^\{"type":"([a-z_]+)"/.exec(data)?.[1] ?? '?'
    this.sent.set(type, (this.sent.get(type) ?? 0) + 1)
    if (type === 'hello') {
      const welcome = JSON.stringify({ type: 'welcome', v: 1, session: 's-scale', resumed: false, seq: 0 })
      setTimeout(() => this.message(welcome))
    }
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return
    this.readyState = 3
    if (ScriptedSocket.byUrl.get(this.url) === this) ScriptedSocket.byUrl.delete(this.url)
    setTimeout(() => this.fire('close', { type: 'close', code, reason, wasClean: true, target: this }))
  }

  /** Hand each frame to the client as one message event, synchronously, in order. */
  deliver(frames: readonly string[]): void {
    for (let i = 0; i < frames.length; i++) this.message(frames[i]!)
  }

  private message(data: string): void {
    this.fire('message', { type: 'message', data, target: this })
  }

  private fire(type: SocketEventType, event: unknown): void {
    const on = type === 'open' ? this.onopen : type === 'message' ? this.onmessage : type === 'close' ? this.onclose : this.onerror
    on?.(event)
    for (const l of this.listeners[type]) {
      if (typeof l === 'function') l(event)
      else l.handleEvent(event)
    }
  }
}

const WebSocketClass = ScriptedSocket as unknown as WebSocketConstructor
const { RealtimeClient } = await import('wirefeed')

/** Options every handle of the harness shares: the scripted socket, no heartbeat, no polling. */
const base = (url: string) => ({ url, WebSocket: WebSocketClass, heartbeat: { interval: 0 }, polling: false as const })

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Resolves once `check` holds, polling every turn of the event loop (at most `ms`). */
async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = performance.now() + ms
  while (!check()) {
    if (performance.now() > end) fail(`timed out waiting for ${what}`)
    await tick()
  }
}

async function settleHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!()
    await tick()
  }
  return process.memoryUsage().heapUsed
}

// ---- dispatch ----

interface Setup {
  id: 'a' | 'b' | 'c' | 'd'
  socket: ScriptedSocket
  received: () => number
  /** The seq of the next frame. */
  next: number
  handles: Client[]
}

let checksum = 0

async function setup(id: Setup['id']): Promise<Setup> {
  const url = `ws://scale.bench.invalid/dispatch/${id}`
  const wildcards = Array.from({ length: OTHERS }, (_, i) => `host.h${i}.*`)
  const main = new RealtimeClient({ ...base(url), subscribe: id === 'c' ? [...wildcards, 'host.*'] : [EVENT] })
  let received = 0
  main.on(EVENT, (data) => {
    checksum += (data as { cpu: number }).cpu
    received++
  })
  main.on('error', (error) => fail(`setup ${id}: ${error.code}: ${error.message}`))
  const handles = [main]
  if (id === 'b' || id === 'd') {
    for (let i = 0; i < OTHERS; i++) {
      const other = new RealtimeClient({ ...base(url), ...(id === 'd' ? { subscribe: [`host.h${i}.*`] } : {}) })
      other.on(id === 'd' ? `host.h${i}.load` : `other.e${i}`, () => {
        checksum++
      })
      handles.push(other)
    }
  }
  await until(() => main.status === 'open' && ScriptedSocket.byUrl.has(url), `set-up ${id} to open`)
  // every handle shares the one socket: this is the deduplicated case, not a thousand connections
  if (handles.some((h) => h.status !== 'open')) fail(`setup ${id}: not every handle is open`)
  return { id, socket: ScriptedSocket.byUrl.get(url)!, received: () => received, next: 1, handles }
}

/** One measured run: `count` fresh frames (seq going on from the last run), ns per event. */
async function runOnce(s: Setup, count: number): Promise<number> {
  const frames = new Array<string>(count)
  for (let i = 0; i < count; i++) frames[i] = frameOf(s.next + i)
  s.next += count
  const want = s.received() + count
  await settleHeap()
  const t0 = process.hrtime.bigint()
  s.socket.deliver(frames)
  // delivery is synchronous today; if it ever is not, the wait for the last event is part of the cost
  if (s.received() < want) await until(() => s.received() >= want, `set-up ${s.id} to deliver ${count} events`, 60_000)
  const ns = Number(process.hrtime.bigint() - t0) / count
  if (s.received() !== want) fail(`set-up ${s.id}: ${s.received()} events delivered, ${want} expected`)
  return ns
}

async function dispatch(rounds: number, maxEvents: number): Promise<void> {
  const setups: Setup[] = []
  for (const id of ['a', 'b', 'c', 'd'] as const) setups.push(await setup(id))
  // warm-up (JIT), and the event count of each set-up: `maxEvents`, or fewer for a set-up whose
  // events cost so much that a run would take over ~0.4 s (at least 10,000 events)
  const counts = new Map<string, number>()
  for (const s of setups) {
    await runOnce(s, Math.min(maxEvents, 20_000))
    const ns = await runOnce(s, Math.min(maxEvents, 20_000))
    counts.set(s.id, Math.max(Math.min(maxEvents, 10_000), Math.min(maxEvents, Math.round(4e8 / ns / 1000) * 1000)))
  }
  const samples: Record<string, number[]> = { a: [], b: [], c: [], d: [] }
  for (let round = 0; round < rounds; round++) {
    const shift = round % setups.length
    for (const s of [...setups.slice(shift), ...setups.slice(0, shift)]) samples[s.id]!.push(await runOnce(s, counts.get(s.id)!))
  }
  const frameBytes = Buffer.byteLength(frameOf(123456))
  const sent = Object.fromEntries(setups.map((s) => [s.id, Object.fromEntries(s.socket.sent)]))
  const handles = Object.fromEntries(setups.map((s) => [s.id, s.handles.length]))
  for (const s of setups) for (const h of s.handles) h.close()
  send({ type: 'dispatch', samples, counts: Object.fromEntries(counts), frameBytes, sent, handles, checksum })
}

// ---- memory ----

/**
 * What each of the `count` objects measured in one step holds:
 * - `app`: no client; only what the app itself creates per handle (its options object, a listener
 *   closure, an event name, a pattern), kept in arrays as a handle would keep them;
 * - `bare`: `new RealtimeClient(options)`;
 * - `listener`: the same plus one `on()` listener;
 * - `full`: the same plus one `subscribe()` of a pattern of its own (the measured case).
 */
type Variant = 'app' | 'bare' | 'listener' | 'full'

interface HeapStep {
  variant: Variant
  baseline: number
  loaded: number
  released: number
}

async function memory(count: number, rounds: number): Promise<void> {
  const url = 'ws://scale.bench.invalid/memory'
  // the harness's own arrays exist before any baseline, so they are not counted per handle
  const slots = <T>(): (T | undefined)[] => new Array<T | undefined>(count).fill(undefined)
  const handles = slots<Client>()
  const offs = slots<() => void>()
  const unsubscribes = slots<() => void>()
  const appOptions = slots<ReturnType<typeof base>>()
  const appListeners = slots<() => void>()
  const appNames = slots<string>()
  const appPatterns = slots<string>()
  let heard = 0
  const first = new RealtimeClient({ ...base(url), subscribe: [EVENT] })
  first.on(EVENT, () => heard++)
  await until(() => first.status === 'open', 'the first handle to open')

  const step = async (variant: Variant): Promise<HeapStep> => {
    const baseline = await settleHeap()
    for (let i = 0; i < count; i++) {
      const options = { ...base(url) }
      const listener = (): void => void heard++
      const name = `host.h${i}.cpu`
      const pattern = `host.h${i}.*`
      if (variant === 'app') {
        appOptions[i] = options
        appListeners[i] = listener
        appNames[i] = name
        appPatterns[i] = pattern
        continue
      }
      const h = new RealtimeClient(options)
      if (variant !== 'bare') offs[i] = h.on(name, listener)
      if (variant === 'full') unsubscribes[i] = h.subscribe(pattern)
      handles[i] = h
    }
    await tick()
    const loaded = await settleHeap()
    if (variant !== 'app' && handles.some((h) => h?.status !== 'open')) fail(`${variant}: not every handle is open`)
    for (let i = 0; i < count; i++) {
      handles[i]?.close()
      handles[i] = offs[i] = unsubscribes[i] = appListeners[i] = undefined
      appOptions[i] = undefined
      appNames[i] = appPatterns[i] = undefined
    }
    await tick()
    const released = await settleHeap()
    return { variant, baseline, loaded, released }
  }

  const steps: HeapStep[] = []
  // a first round of the measured case warms up every path (and is not reported)
  await step('full')
  for (const variant of ['app', 'bare', 'listener'] as const) steps.push(await step(variant))
  for (let round = 0; round < rounds; round++) steps.push(await step('full'))
  const socket = ScriptedSocket.byUrl.get(url)
  const sockets = socket ? 1 : 0
  const sent = socket ? Object.fromEntries(socket.sent) : {}
  first.close()
  send({ type: 'memory', count, steps, sockets, sent, heard })
}

// ---- main ----

const [mode, a1, a2] = process.argv.slice(2)
if (!process.send) fail('started by run.ts through fork')
if (mode === 'dispatch') await dispatch(Number(a1), Number(a2))
else if (mode === 'memory') await memory(Number(a1), Number(a2))
else fail(`unknown mode ${mode}`)
process.disconnect()
