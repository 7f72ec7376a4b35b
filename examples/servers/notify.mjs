/**
 * A minimal HTMX-style dashboard in the shape of `notifyProtocol` (wirefeed/protocols): the state
 * is an HTML fragment served over HTTP, and the socket only says that it changed (a bare
 * `changed` text frame); clients fetch the fragment again.
 *
 *   node examples/servers/notify.mjs    # ws://127.0.0.1:8083/ws, the fragment at http://127.0.0.1:8083/stats
 */
import { createServer } from 'node:http'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebSocketServer } from 'ws'

export async function startNotify({ port = 0, host = '127.0.0.1' } = {}) {
  const state = { orders: 0, revenue: 0 }
  let fetches = 0
  const fragment = () => `<section id="stats"><p>Orders: ${state.orders}</p><p>Revenue: $${state.revenue}</p></section>`

  const http = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://localhost').pathname !== '/stats') return res.writeHead(404).end()
    fetches++
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(fragment())
  })
  const wss = new WebSocketServer({ server: http, path: '/ws' })

  /** An order came in: change the state and tell every client. */
  function order(amount) {
    state.orders++
    state.revenue += amount
    for (const socket of wss.clients) socket.send('changed')
  }

  await new Promise((done) => http.listen(port, host, done))
  const { port: bound } = http.address()
  return {
    url: `ws://${host}:${bound}/ws`,
    pollUrl: `http://${host}:${bound}/stats`,
    order,
    fragment,
    /** GET /stats requests served. */
    fetches: () => fetches,
    async close() {
      for (const socket of wss.clients) socket.terminate()
      await new Promise((done) => wss.close(() => http.close(() => done())))
    },
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const app = await startNotify({ port: Number(process.env.PORT ?? 8083) })
  console.log(`notifications on ${app.url}, state at ${app.pollUrl}`)
  setInterval(() => app.order(10 + Math.floor(Math.random() * 90)), 2000)
}
