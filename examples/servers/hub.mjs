/**
 * A minimal dashboard hub in the shape of `hubProtocol` (wirefeed/protocols), as a Go Fiber hub
 * would run it: a JWT in the `token` query parameter (a socket without a valid one is closed with
 * 4001), `{"action":"ping"}` answered with `{"action":"pong"}`, `{"action":"refresh"}` with a
 * `dashboard_update`, and a `dashboard_update` to every client when the data changes.
 *
 *   node examples/servers/hub.mjs    # ws://127.0.0.1:8084/ws?token=demo
 */
import { createServer } from 'node:http'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebSocketServer } from 'ws'

/**
 * `verify(token)`: whether a token is valid. A real hub checks the JWT's signature and expiry;
 * this one accepts any non-empty token unless told otherwise.
 */
export async function startHub({ port = 0, host = '127.0.0.1', verify = (token) => token !== '' } = {}) {
  const http = createServer((_req, res) => res.writeHead(404).end())
  const wss = new WebSocketServer({ server: http, path: '/ws' })
  const dashboard = { active_users: 0, open_incidents: 0, version: 0 }
  const received = []
  const tokens = []
  const update = () => JSON.stringify({ type: 'dashboard_update', data: { ...dashboard }, timestamp: new Date().toISOString() })

  wss.on('connection', (socket, req) => {
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? ''
    tokens.push(token)
    if (!verify(token)) return socket.close(4001, 'invalid token')
    socket.send(update())
    socket.on('message', (raw) => {
      let m
      try {
        m = JSON.parse(String(raw))
      } catch {
        m = {}
      }
      received.push(m)
      if (m.action === 'ping') socket.send(JSON.stringify({ action: 'pong' }))
      else if (m.action === 'refresh') socket.send(update())
      else socket.send(JSON.stringify({ type: 'error', code: 'unknown_action', message: 'unknown action' }))
    })
  })

  /** Change the dashboard and push it to every client. */
  function change(values) {
    Object.assign(dashboard, values, { version: dashboard.version + 1 })
    const frame = update()
    for (const socket of wss.clients) if (socket.readyState === socket.OPEN) socket.send(frame)
  }

  await new Promise((done) => http.listen(port, host, done))
  const { port: bound } = http.address()
  return {
    url: `ws://${host}:${bound}/ws`,
    change,
    /** Every message the clients sent, parsed, in order. */
    received,
    /** The token of every socket that connected. */
    tokens,
    async close() {
      for (const socket of wss.clients) socket.terminate()
      await new Promise((done) => wss.close(() => http.close(() => done())))
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const hub = await startHub({ port: Number(process.env.PORT ?? 8084) })
  console.log(`hub on ${hub.url}?token=demo`)
  setInterval(() => hub.change({ active_users: 100 + Math.floor(Math.random() * 50) }), 3000)
}
