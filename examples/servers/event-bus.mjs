/**
 * A minimal event bus in the shape of `eventBusProtocol` (wirefeed/protocols): events named by
 * `type` (`alert`, `incident`, `host`), per-client subscriptions of exact names (none = every
 * type), ping/pong, and backpressure: a client whose socket has too much unsent data misses
 * events instead of making the bus buffer them.
 *
 *   node examples/servers/event-bus.mjs     # ws://127.0.0.1:8081/ws, an event every second
 */
import { createServer } from 'node:http'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebSocketServer } from 'ws'

/** Unsent bytes a client may have before the bus skips events for it. */
const MAX_BUFFERED = 64 * 1024

export async function startEventBus({ port = 0, host = '127.0.0.1' } = {}) {
  const http = createServer((_req, res) => res.writeHead(404).end())
  const wss = new WebSocketServer({ server: http, path: '/ws' })
  /** Each socket's subscribed types. */
  const clients = new Map()
  const received = []
  let skipped = 0

  wss.on('connection', (socket) => {
    const types = new Set()
    clients.set(socket, types)
    socket.on('close', () => clients.delete(socket))
    socket.on('message', (raw) => {
      let m
      try {
        m = JSON.parse(String(raw))
      } catch {
        return socket.send(JSON.stringify({ type: 'error', code: 'bad_json', message: 'frame is not JSON' }))
      }
      received.push(m)
      const events = Array.isArray(m.events) ? m.events.filter((e) => typeof e === 'string') : []
      if (m.type === 'subscribe') for (const e of events) types.add(e)
      else if (m.type === 'unsubscribe') for (const e of events) types.delete(e)
      else if (m.type === 'ping') socket.send(JSON.stringify({ type: 'pong', id: m.id }))
    })
  })

  /** Send an event to every client that wants its type. */
  function publish(type, data) {
    const frame = JSON.stringify({ type, data, timestamp: new Date().toISOString() })
    for (const [socket, types] of clients) {
      if (types.size > 0 && !types.has(type)) continue
      if (socket.bufferedAmount > MAX_BUFFERED) skipped++
      else socket.send(frame)
    }
  }

  await new Promise((done) => http.listen(port, host, done))
  const { port: bound } = http.address()
  return {
    url: `ws://${host}:${bound}/ws`,
    publish,
    /** Every message the clients sent, parsed, in order. */
    received,
    /** The subscribed types of each connected client. */
    subscriptions: () => [...clients.values()].map((types) => [...types]),
    skipped: () => skipped,
    async close() {
      for (const socket of wss.clients) socket.terminate()
      await new Promise((done) => wss.close(() => http.close(() => done())))
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const bus = await startEventBus({ port: Number(process.env.PORT ?? 8081) })
  console.log(`event bus on ${bus.url}`)
  const kinds = ['alert', 'incident', 'host']
  let n = 0
  setInterval(() => {
    const type = kinds[n % kinds.length]
    bus.publish(type, { id: String(++n), summary: `${type} #${n}` })
  }, 1000)
}
