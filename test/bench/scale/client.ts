/**
 * The client process of the catch-up measurements (forked by `run.ts`, which runs the reference
 * server in its own process and talks to this one over the IPC channel).
 *
 *   node test/bench/scale/client.ts <url> <cpu | restart> <reconnect.minDelay> <reconnect.maxDelay>
 *
 * One `RealtimeClient` from dist/index.js (the public API only) on Node's global WebSocket,
 * subscribed to `host.metrics` with one listener, heartbeat off on the client's side. It is
 * observed through public means only: the `url` function (called at the start of every attempt),
 * the `logger` (the delay of each scheduled attempt), the `status` and `resync` events, and a
 * WebSocket subclass passed as the `WebSocket` option that notes when `hello` leaves and when the
 * `welcome` arrives (one round trip over the socket).
 *
 * Times are `process.hrtime.bigint()` in ns, as numbers: the monotonic clock of the machine, which
 * run.ts reads too, so the two processes' times compare directly. CPU is `process.cpuUsage()`
 * (user + system, every thread of this process), in µs.
 *
 * Phase `cpu` (run.ts asks, the client answers):
 * - `{ type: 'arm', count }`: the next `count` events are measured as live events. The client
 *   takes its CPU reading at once and, at the `count`-th event, reports `{ type: 'live', cpuMicros }`.
 * - `{ type: 'idle-start' }`, then `{ type: 'idle-stop' }`: the CPU the client spends in between
 *   with no event at all (`{ type: 'idle', cpuMicros }`), the floor under the spaced live runs.
 * - `{ type: 'expect-replay', count }`: the next reconnection is measured. The client answers
 *   `expecting`; run.ts then cuts the link and publishes `count` events, which the client gets as a
 *   replay once it is back. It reports `{ type: 'replay', handshakeMicros, replayMicros, ... }`:
 *   CPU from the start of the attempt (`url` called) to the `welcome` (status `open`), and from
 *   the `welcome` to the `count`-th replayed event.
 * Phase `restart`: after every `welcome` the client reports `{ type: 'up', ... }` with the times of
 * the attempt, of its socket's creation and opening, of its `hello` and its `welcome`, the attempts the client scheduled meanwhile (from its
 * logger); `{ type: 'resync', reason }` for each resync; then `{ type: 'first', at, seq }` at the
 * first event.
 * In both phases it reports `{ type: 'down', at }` when its status becomes `reconnecting`.
 */
import type { WebSocketConstructor } from 'wirefeed'

export {}

const EVENT = 'host.metrics'
const [url = '', phase = '', minDelayArg, maxDelayArg] = process.argv.slice(2)
if (!url || (phase !== 'cpu' && phase !== 'restart') || !process.send) {
  console.error('usage: node test/bench/scale/client.ts <url> <cpu|restart> <minDelay> <maxDelay> (forked by run.ts)')
  process.exit(2)
}
const send = (message: unknown, then: () => void = () => {}): void => void process.send?.(message, then)
const fail = (why: string): never => {
  console.error(`scale client (${phase}): ${why}`)
  process.exit(1)
}
const now = (): number => Number(process.hrtime.bigint())
const micros = (u: NodeJS.CpuUsage): number => u.user + u.system

// ---- what the client is observed through ----

let createdAt = 0
let openAt = 0
let helloAt = 0
let welcomeAt = 0
let awaitingWelcome = false

/** Node's WebSocket, noting when it is created, when it opens, when `hello` leaves and when the `welcome` arrives. */
class TimedWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    createdAt = now()
    super(address, protocols)
    this.addEventListener('open', () => {
      openAt = now()
    })
    // added before the client's own listener, so it runs first
    this.addEventListener('message', (e) => {
      if (awaitingWelcome && typeof e.data === 'string' && e.data.startsWith('{"type":"welcome"')) {
        welcomeAt = now()
        awaitingWelcome = false
      }
    })
  }

  override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (typeof data === 'string' && data.startsWith('{"type":"hello"')) {
      helloAt = now()
      awaitingWelcome = true
    }
    super.send(data)
  }
}

let attemptAt = 0
let attemptCpu: NodeJS.CpuUsage | undefined
/** Attempts the client scheduled since the last `welcome`: when, and after how long (its logger). */
let scheduled: { at: number; delay: number }[] = []
const resyncs: string[] = []

// ---- measurement state ----

type Mode = { kind: 'idle' } | { kind: 'live'; target: number; cpu0: NodeJS.CpuUsage | undefined } | { kind: 'replay-wait'; count: number } | { kind: 'replay'; count: number; start: number; lastBefore: number; openCpu: NodeJS.CpuUsage; attemptCpu: NodeJS.CpuUsage; firstSeq: number }

let mode: Mode = { kind: 'idle' }
let received = 0
let lastSeq = 0
let sum = 0
let firstPending = false

const { RealtimeClient } = await import('wirefeed')
const client = new RealtimeClient({
  url: () => {
    attemptAt = now()
    attemptCpu = process.cpuUsage()
    return url
  },
  WebSocket: TimedWebSocket as unknown as WebSocketConstructor,
  subscribe: [EVENT],
  heartbeat: { interval: 0 },
  polling: false,
  reconnect: { minDelay: Number(minDelayArg), maxDelay: Number(maxDelayArg), factor: 2, jitter: 0.2, maxAttempts: 1000 },
  logger: {
    debug: (message) => {
      const m = /next attempt in (\d+) ms/.exec(message)
      if (m) scheduled.push({ at: now(), delay: Number(m[1]) })
    },
  },
})

client.on('error', (error) => fail(`${error.code}: ${error.message}`))
client.on('resync', (info) => {
  resyncs.push(info.reason)
  if (phase === 'restart') send({ type: 'resync', reason: info.reason })
})

client.on(EVENT, (data, meta) => {
  sum += (data as { cpu: number }).cpu
  received++
  if (meta.seq !== lastSeq + 1 && resyncs.length === 0 && phase === 'cpu') fail(`seq ${meta.seq} after ${lastSeq}`)
  lastSeq = meta.seq
  if (firstPending) {
    firstPending = false
    send({ type: 'first', at: now(), seq: meta.seq })
  }
  if (mode.kind === 'live') {
    if (!mode.cpu0) fail('an event arrived before the CPU reading of a live run was taken')
    if (received === mode.target) {
      const cpuMicros = micros(process.cpuUsage(mode.cpu0))
      mode = { kind: 'idle' }
      send({ type: 'live', cpuMicros })
    }
  } else if (mode.kind === 'replay') {
    if (received - mode.start === 1) mode.firstSeq = meta.seq
    if (received - mode.start === mode.count) {
      const end = process.cpuUsage()
      const m = mode
      mode = { kind: 'idle' }
      send({
        type: 'replay',
        handshakeMicros: micros(m.openCpu) - micros(m.attemptCpu),
        replayMicros: micros(end) - micros(m.openCpu),
        firstSeq: m.firstSeq,
        lastBefore: m.lastBefore,
        lastSeq: meta.seq,
        resyncs: client.stats.resyncs,
      })
    }
  }
})

client.on('status', (status) => {
  if (status === 'reconnecting') {
    send({ type: 'down', at: now() })
  } else if (status === 'open') {
    if (mode.kind === 'replay-wait') {
      // the measured window starts here: no message goes out until the last replayed event
      if (!attemptCpu) fail('no attempt was seen before the welcome')
      mode = { kind: 'replay', count: mode.count, start: received, lastBefore: lastSeq, openCpu: process.cpuUsage(), attemptCpu: attemptCpu!, firstSeq: 0 }
      return
    }
    const up = { type: 'up', at: now(), attemptAt, createdAt, openAt, helloAt, welcomeAt, scheduled, received }
    scheduled = []
    if (phase === 'restart') firstPending = true
    send(up)
  }
})

type FromRun = { type: 'arm'; count: number } | { type: 'idle-start' } | { type: 'idle-stop' } | { type: 'expect-replay'; count: number } | { type: 'stop' }

let idleCpu: NodeJS.CpuUsage | undefined

process.on('message', (m: FromRun) => {
  if (m.type === 'stop') {
    client.close()
    send({ type: 'stopped', sum }, () => process.exit(0))
  } else if (m.type === 'arm') {
    // no answer: nothing goes out over IPC inside a measured window (run.ts waits a moment before
    // it publishes, and an event seen before the reading would fail the run)
    mode = { kind: 'live', target: received + m.count, cpu0: process.cpuUsage() }
  } else if (m.type === 'idle-start') {
    idleCpu = process.cpuUsage()
  } else if (m.type === 'idle-stop') {
    if (!idleCpu) fail('idle-stop before the idle reading was taken')
    send({ type: 'idle', cpuMicros: micros(process.cpuUsage(idleCpu)) })
  } else if (m.type === 'expect-replay') {
    mode = { kind: 'replay-wait', count: m.count }
    attemptCpu = undefined
    send({ type: 'expecting' })
  }
})
process.on('disconnect', () => process.exit(0))
