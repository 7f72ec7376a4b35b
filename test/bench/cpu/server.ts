/**
 * One server process of the CPU harness (started by `run.ts`, which talks to it over the IPC
 * channel of `fork`). It listens on 127.0.0.1, port 0, and sends bursts of events to the client
 * that is connected when `run.ts` asks for them.
 *
 *   node test/bench/cpu/server.ts <kind> <frame sizes in bytes, comma-separated>
 *
 * kinds:
 * - `wirefeed`: the reference server (`createRealtimeServer` from dist/server.js), `publish()` per event;
 * - `ws`: a plain `ws` server sending frames shaped like wirefeed's v1 `event` messages (same
 *   fields, same bytes give or take the seq digits), built per event as the reference server
 *   builds them (payload serialised, then concatenated into the envelope); it answers any client
 *   frame with a v1 `welcome`, as the reference server answers `hello`;
 * - `socket.io`: a socket.io server, `socket.emit(event, payload)` per event with the same payload objects.
 *
 * Every kind serialises the payload once per event, as a real server does. run.ts stops the client
 * process while a burst is queued, so how fast a server is does not change what its client spends.
 *
 * Messages from run.ts: `{ type: 'send', bytes, count }`; to run.ts: `{ type: 'listening', url, frames }`
 * once it listens (`frames`: the byte length of the frames it sends, per size), then
 * `{ type: 'sent', count }` once every frame of a burst is handed to the socket (written, or
 * queued in the process while the client does not read).
 */
import type { AddressInfo } from 'node:net'

type Payload = {
  host: string
  cpu: number
  mem: number
  load: number[]
  tags: Record<string, string>
  procs: { pid: number; name: string; cpu: number; rss: number }[]
}

type FromRun = { type: 'send'; bytes: number; count: number } | { type: 'stop' }

const EVENT = 'host.metrics'
const TS = 1767225600000
const WELCOME = JSON.stringify({ type: 'welcome', v: 1, session: 's-1', resumed: false, seq: 0, heartbeat: 30000 })

/** The frame the reference server would send for `payload` (see encodeEvent in src/server/wire.ts). */
const frameOf = (seq: number, json: string): string => `{"type":"event","seq":${seq},"event":${JSON.stringify(EVENT)},"data":${json},"ts":${TS}}`

/** A host-metrics payload whose wirefeed event frame is as close as it gets to `bytes` (seq of 5 digits). */
function payloadOf(bytes: number): Payload {
  const payload: Payload = {
    host: 'web-17',
    cpu: 0.42,
    mem: 0.71,
    load: [1.2, 0.9, 0.8],
    tags: { region: 'eu-west', role: 'api' },
    procs: [],
  }
  const size = (): number => Buffer.byteLength(frameOf(12345, JSON.stringify(payload)))
  for (let i = 0; ; i++) {
    const before = size()
    const proc = { pid: 1000 + i * 7, name: `worker-${i % 16}`, cpu: Math.round(((i * 37) % 100) * 10) / 1000, rss: 100_000_000 + i * 4099 }
    payload.procs.push(proc)
    const after = size()
    if (after > bytes) {
      if (after - bytes > bytes - before) payload.procs.pop()
      return payload
    }
  }
}

const [kind, sizesArg] = process.argv.slice(2)
if (!kind || !sizesArg || !process.send) {
  console.error('usage: node test/bench/cpu/server.ts <wirefeed|ws|socket.io> <bytes,bytes,...> (started by run.ts through fork)')
  process.exit(2)
}
const payloads = new Map<number, Payload>(sizesArg.split(',').map((b) => [Number(b), payloadOf(Number(b))]))
/** The byte length of the frame this kind sends per size (socket.io's: engine.io message, socket.io EVENT, [name, payload]). */
const frameBytes = (p: Payload): number =>
  Buffer.byteLength(kind === 'socket.io' ? `42${JSON.stringify([EVENT, p])}` : frameOf(12345, JSON.stringify(p)))
const frames = Object.fromEntries([...payloads].map(([bytes, p]) => [bytes, frameBytes(p)]))
const send = (message: unknown): void => void process.send?.(message)

/** Sends `count` events of payload `payload` to the client connected now; settles once every frame is handed to the socket. */
type Burst = (payload: Payload, count: number) => void | Promise<void>

async function start(): Promise<{ url: string; burst: Burst; close: () => Promise<void> }> {
  if (kind === 'wirefeed') {
    const { createRealtimeServer } = await import('wirefeed/server')
    const rt = createRealtimeServer({
      pollPath: false,
      statsPath: false,
      // a burst is written in one go: let it queue whatever its length (the harness's client reads it all)
      maxQueue: 1_000_000,
      maxBufferedBytes: 1024 * 1024 * 1024,
      // a client that has gone is forgotten half a second later: publish() then skips it
      sessionTtl: 500,
    })
    await rt.ready
    return {
      url: rt.url!,
      burst: (payload, count) => {
        for (let i = 0; i < count; i++) rt.publish(EVENT, payload)
      },
      close: () => rt.close(),
    }
  }
  if (kind === 'ws') {
    const { WebSocketServer, WebSocket } = await import('ws')
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
    await new Promise<void>((resolve) => wss.once('listening', resolve))
    let current: InstanceType<typeof WebSocket> | undefined
    let seq = 0
    wss.on('connection', (ws) => {
      current = ws
      seq = 0
      ws.on('error', () => {})
      // the plain clients start as wirefeed's does, with a hello answered by a welcome (client.ts)
      ws.on('message', () => ws.send(WELCOME))
    })
    return {
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
      burst: (payload, count) => {
        const ws = current
        if (!ws || ws.readyState !== WebSocket.OPEN) throw new Error('no client connected')
        for (let i = 0; i < count; i++) ws.send(frameOf(++seq, JSON.stringify(payload)))
      },
      close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
    }
  }
  if (kind === 'socket.io') {
    const { createServer } = await import('node:http')
    const { Server } = await import('socket.io')
    const http = createServer()
    // WebSocket only, no compression: the same transport as the other contenders
    const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false })
    let current: { connected: boolean; conn: unknown; emit(event: string, data: unknown): unknown } | undefined
    io.on('connection', (socket) => {
      current = socket
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    return {
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      burst: async (payload, count) => {
        const socket = current
        if (!socket?.connected) throw new Error('no client connected')
        for (let i = 0; i < count; i++) socket.emit(EVENT, payload)
        // engine.io hands packets to the socket a tick later, in batches: wait until it has them all
        const engine = socket.conn as unknown as { writeBuffer: unknown[] }
        while (engine.writeBuffer.length > 0) await new Promise((resolve) => setImmediate(resolve))
      },
      close: () => new Promise<void>((resolve) => void io.close(() => resolve())),
    }
  }
  throw new Error(`unknown server kind ${kind}`)
}

const server = await start()
process.on('message', async (message: FromRun) => {
  if (message.type === 'stop') {
    void server.close().finally(() => process.exit(0))
    return
  }
  const payload = payloads.get(message.bytes)
  if (!payload) throw new Error(`no payload of ${message.bytes} bytes`)
  await server.burst(payload, message.count)
  send({ type: 'sent', count: message.count })
})
// run.ts gone (killed, crashed): do not linger
process.on('disconnect', () => process.exit(0))
send({ type: 'listening', url: server.url, frames })
