/**
 * A minimal dashboard feed in the shape of `typedUpdatesProtocol` (wirefeed/protocols): it speaks
 * first (`connection`), then pushes `metrics_update` and `security_metrics_update` every few
 * seconds for the `time_range` the socket URL asked for, and a `heartbeat` between pushes. It
 * reads nothing from its clients.
 *
 *   node examples/servers/typed-updates.mjs    # ws://127.0.0.1:8082/ws/metrics?time_range=1h
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebSocketServer } from 'ws'

const RANGES = new Set(['15m', '1h', '24h'])

export async function startTypedUpdates({ port = 0, host = '127.0.0.1', interval = 5000, heartbeat = 15000 } = {}) {
  const http = createServer((_req, res) => res.writeHead(404).end())
  const wss = new WebSocketServer({ server: http, path: '/ws/metrics' })
  const connections = []
  /** The time range of each open socket that asked for a known one. */
  const ranges = new Map()
  let round = 0
  const send = (socket, message) => socket.send(JSON.stringify({ ...message, timestamp: new Date().toISOString() }))

  wss.on('connection', (socket, req) => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams
    const timeRange = query.get('time_range') ?? '1h'
    connections.push({ timeRange, token: query.get('token') })
    if (!RANGES.has(timeRange)) {
      send(socket, { type: 'error', code: 'bad_time_range', message: `unknown time_range ${timeRange}` })
      return socket.close(1008, 'bad time_range')
    }
    ranges.set(socket, timeRange)
    socket.on('close', () => ranges.delete(socket))
    send(socket, { type: 'connection', status: 'connected', client_id: randomUUID() })
  })

  /** One round of updates to every client, for its own time range. */
  function push() {
    round++
    for (const [socket, range] of ranges) {
      send(socket, { type: 'metrics_update', data: { time_range: range, round, requests: 1200 + round, p95_ms: 180 } })
      send(socket, { type: 'security_metrics_update', data: { time_range: range, round, blocked: 3 * round } })
    }
  }
  const timers = [
    setInterval(push, interval),
    setInterval(() => ranges.forEach((_range, socket) => send(socket, { type: 'heartbeat' })), heartbeat),
  ]

  await new Promise((done) => http.listen(port, host, done))
  const { port: bound } = http.address()
  return {
    url: `ws://${host}:${bound}/ws/metrics`,
    push,
    /** The query of each socket that connected: its time range, and a token if it sent one. */
    connections,
    async close() {
      timers.forEach(clearInterval)
      for (const socket of wss.clients) socket.terminate()
      await new Promise((done) => wss.close(() => http.close(() => done())))
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const feed = await startTypedUpdates({ port: Number(process.env.PORT ?? 8082) })
  console.log(`typed updates on ${feed.url}?time_range=1h`)
}
