/**
 * One client process of the CPU harness (started by `run.ts` through `fork`, one per repeat).
 *
 *   node test/bench/cpu/client.ts <contender> <url> <warm-up events> <measured events>
 *
 * It connects, tells run.ts it is ready (`{ type: 'ready' }`), receives `warm` events (JIT
 * warm-up, not measured) and says so (`{ type: 'warmed' }`), then receives `count` events and
 * reports `{ type: 'result', cpuMicros, wallMs, count }`: its own CPU time (`process.cpuUsage()`,
 * user + system, every thread of the process) from the end of the warm-up to the last event, and
 * the wall time from the first to the last measured event. The process is idle between bursts
 * (and stopped while its server queues one), so the CPU figure is what the pipeline spent on
 * those `count` events: socket reads, frame decoding, JSON.parse, and whatever the contender does
 * before the listener runs (envelope check, seq tracking, schema, dispatch).
 *
 * Every contender uses Node's global WebSocket (undici), the one the wirefeed client is given, so
 * the comparison is about the pipeline above the socket, not about socket libraries. Every
 * listener does the same work: it reads one field of the payload and counts the event.
 */
export {}

type Data = { cpu: number }

const EVENT = 'host.metrics'
const [contender = '', url = '', warmArg, countArg] = process.argv.slice(2)
const warm = Number(warmArg)
const count = Number(countArg)
if (!contender || !url || !(warm >= 1) || !(count >= 2) || !process.send) {
  console.error('usage: node test/bench/cpu/client.ts <contender> <url> <warm> <count> (started by run.ts through fork)')
  process.exit(2)
}
const send = (message: unknown): void => void process.send?.(message)

let received = 0
let sum = 0
let cpu0: NodeJS.CpuUsage | undefined
let wall0 = 0

/** The listener of every contender. */
function listener(data: Data): void {
  sum += data.cpu
  received++
  if (received === warm) {
    send({ type: 'warmed' })
    profiler?.start()
    cpu0 = process.cpuUsage()
  } else if (received === warm + 1) {
    wall0 = performance.now()
  } else if (received === warm + count) {
    const cpu = process.cpuUsage(cpu0)
    const wallMs = performance.now() - wall0
    const report = (): void => void process.send!({ type: 'result', cpuMicros: cpu.user + cpu.system, wallMs, count, check: sum }, () => process.exit(0))
    if (profiler) profiler.stop(report)
    else report()
  }
}

/**
 * With WIREFEED_BENCH_PROFILE=<dir> (run.ts --profile), a V8 CPU profile of the measured burst
 * only (not of start-up and warm-up) is written to <dir>/<contender>.<pid>.cpuprofile.
 */
async function profilerFor(dir: string): Promise<{ start(): void; stop(then: () => void): void }> {
  const { Session } = await import('node:inspector')
  const { writeFileSync } = await import('node:fs')
  const inspector = new Session()
  inspector.connect()
  inspector.post('Profiler.enable')
  inspector.post('Profiler.setSamplingInterval', { interval: 50 })
  return {
    start: () => inspector.post('Profiler.start'),
    stop: (then) =>
      inspector.post('Profiler.stop', (error, result) => {
        if (!error) writeFileSync(`${dir}/${contender}.${process.pid}.cpuprofile`, JSON.stringify(result.profile))
        then()
      }),
  }
}
const profileDir = process.env.WIREFEED_BENCH_PROFILE
const profiler = profileDir ? await profilerFor(profileDir) : undefined

const fail = (why: string): never => {
  console.error(`client ${contender}: ${why}`)
  process.exit(1)
}

/** Payload schema of the `+ zod` variants: the whole host-metrics object, every field checked. */
async function payloadSchema(jitless: boolean) {
  const z = await import('zod')
  // classic zod compiles object schemas with `new Function` (JIT) unless told not to; a page under
  // a strict CSP (no 'unsafe-eval') gets the jitless path, which this variant forces
  if (jitless) z.config({ jitless: true })
  return z.object({
    host: z.string(),
    cpu: z.number(),
    mem: z.number(),
    load: z.array(z.number()),
    tags: z.record(z.string(), z.string()),
    procs: z.array(z.object({ pid: z.number().int(), name: z.string(), cpu: z.number(), rss: z.number() })),
  })
}

async function wirefeed(schema: 'none' | 'jit' | 'jitless'): Promise<void> {
  const { RealtimeClient } = await import('wirefeed')
  const events = schema === 'none' ? {} : { [EVENT]: await payloadSchema(schema === 'jitless') }
  const client = new RealtimeClient({ url, WebSocket: globalThis.WebSocket, subscribe: [EVENT], heartbeat: { interval: 0 }, events })
  client.on('error', (error) => fail(`error: ${error.message}`))
  client.on(EVENT, (data) => listener(data as Data))
  client.on('status', (status) => {
    if (status === 'open') send({ type: 'ready' })
    else if (status !== 'connecting' && received > 0) fail(`status ${status} during the run`)
  })
}

/**
 * The floor and the other plain-socket contenders start as the wirefeed client does: `hello` on
 * open, then the server's `welcome` (the plain server answers it too). Only then is the per-event
 * listener installed, so the measured path is the contender's own and nothing else, and every
 * client has the same history on its link (a round trip, then the events), which changes what the
 * process spends per event by up to ~10% on this machine.
 */
const HELLO = JSON.stringify({ type: 'hello', v: 1, session: null, after: null, events: [EVENT] })
const decode = (frame: unknown): Data => (JSON.parse(frame as string) as { data: Data }).data

/** The floor: the socket, JSON.parse, one callback. */
function floor(): void {
  const ws = new WebSocket(url)
  const onEvent = (e: MessageEvent): void => listener(decode(e.data))
  const onWelcome = (): void => {
    ws.removeEventListener('message', onWelcome)
    ws.addEventListener('message', onEvent)
    send({ type: 'ready' })
  }
  ws.addEventListener('open', () => ws.send(HELLO))
  ws.addEventListener('message', onWelcome)
  ws.addEventListener('close', () => received > 0 && fail('socket closed during the run'))
}

async function reconnectingWebSocket(): Promise<void> {
  const { default: ReconnectingWebSocket } = await import('reconnecting-websocket')
  const ws = new ReconnectingWebSocket(url, [], { WebSocket: globalThis.WebSocket })
  const onEvent = (e: MessageEvent): void => listener(decode(e.data))
  const onWelcome = (): void => {
    ws.removeEventListener('message', onWelcome)
    ws.addEventListener('message', onEvent)
    send({ type: 'ready' })
  }
  ws.addEventListener('open', () => ws.send(HELLO))
  ws.addEventListener('message', onWelcome)
}

async function partysocket(): Promise<void> {
  const { default: ReconnectingWebSocket } = await import('partysocket/ws')
  const ws = new ReconnectingWebSocket(url, [], { WebSocket: globalThis.WebSocket })
  const onEvent = (e: MessageEvent): void => listener(decode(e.data))
  const onWelcome = (): void => {
    ws.removeEventListener('message', onWelcome)
    ws.addEventListener('message', onEvent)
    send({ type: 'ready' })
  }
  ws.addEventListener('open', () => ws.send(HELLO))
  ws.addEventListener('message', onWelcome)
}

/**
 * socket.io-client as a browser app gets it: run.ts bundles it with esbuild for the browser (the
 * `browser`/`default` export conditions, not Node's debug build with its `debug()` calls; the
 * browser WebSocket transport, which uses globalThis.WebSocket) and passes the bundle's path.
 */
async function socketIo(): Promise<void> {
  const bundle = process.env.WIREFEED_BENCH_SOCKET_IO
  if (!bundle) fail('WIREFEED_BENCH_SOCKET_IO (the browser bundle of socket.io-client, made by run.ts) is not set')
  const { io } = (await import(bundle!)) as typeof import('socket.io-client')
  const socket = io(url, { transports: ['websocket'], reconnection: false })
  socket.on('connect', () => {
    const engine = socket.io.engine as unknown as { transport: { ws?: unknown } }
    if (!(engine.transport.ws instanceof globalThis.WebSocket)) fail('socket.io-client is not on the global WebSocket')
    send({ type: 'ready' })
  })
  socket.on('connect_error', (error) => fail(`connect_error: ${error.message}`))
  socket.on(EVENT, (data: Data) => listener(data))
}

switch (contender) {
  case 'floor':
  case 'floor-plain': // the same client against the plain server (a control, see run.ts)
    floor()
    break
  case 'wirefeed':
    await wirefeed('none')
    break
  case 'wirefeed+zod':
    await wirefeed('jit')
    break
  case 'wirefeed+zod-jitless':
    await wirefeed('jitless')
    break
  case 'reconnecting-websocket':
    await reconnectingWebSocket()
    break
  case 'partysocket':
    await partysocket()
    break
  case 'socket.io':
    await socketIo()
    break
  default:
    fail(`unknown contender ${contender}`)
}
process.on('disconnect', () => process.exit(0))
