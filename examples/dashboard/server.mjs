/**
 * The wirefeed live demo: one node:http server that serves a dashboard page, carries the realtime
 * endpoints of `wirefeed/server`, publishes a simulated stream of alerts, incidents and host
 * metrics, and offers fault buttons (drop, half-open link, refuse WebSocket, restart).
 *
 *   npm start                              # builds, then runs this file on PORT or 8080
 *   node examples/dashboard/server.mjs     # after `npm run build`
 *
 * `startDemo()` runs the same demo in-process (the browser test and the screenshot script use it).
 */
import { stat, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')
const distIndex = join(root, 'dist', 'index.js')

/** The package imports itself by name (its "exports" map); dist/ must exist (`npm run build`). */
async function loadServerPackage() {
  try {
    return await import('wirefeed/server')
  } catch (first) {
    try {
      return await import('../../dist/server.js')
    } catch {
      throw new Error('wirefeed is not built: run `npm run build` first (`npm start` does it)', { cause: first })
    }
  }
}
const { createRealtimeServer } = await loadServerPackage()

/** Paths of the realtime endpoints (the defaults of createRealtimeServer). */
const WS_PATH = '/ws/events'
const POLL_PATH = '/api/events'

/**
 * Client options the page uses, chosen so that every fault resolves within seconds on screen:
 * a short backoff, a fallback after 3 failed attempts, a 5 s heartbeat that declares a silent link
 * dead 3 s after a ping, long polling, and a WebSocket probe every 8 s while polling.
 */
export const DEMO_CLIENT_OPTIONS = {
  reconnect: { minDelay: 500, maxDelay: 4000, factor: 2, jitter: 0.2, maxAttempts: 3, connectTimeout: 5000 },
  heartbeat: { interval: 5000, timeout: 3000 },
  polling: { interval: 1000, wait: 15000, upgradeInterval: 8000 },
  replay: { timeout: 3000 },
}

/** How long `/demo/silent` may keep the server silent if no client comes back, ms. */
const SILENT_MAX = 30_000

const HOSTS = ['web-1', 'web-2', 'db-1']
const ALERTS = ['disk 91% full', 'TLS certificate expires in 6 days', 'p99 latency above 800 ms', 'error rate 2.4%', 'queue backlog growing', 'memory pressure']
const INCIDENTS = ['Checkout latency', 'Login failures in eu-west', 'Search index lagging', 'Payment webhooks delayed', 'CDN 5xx spike']

const STATIC = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
}

/** The server counters that add up across restarts (gauges are read from the current server). */
const COUNTERS = ['published', 'delivered', 'messagesSent', 'replays', 'replayFailures', 'polls', 'posts', 'heartbeatTimeouts']

function mergeOptions(base, extra) {
  const out = structuredClone(base)
  for (const [key, value] of Object.entries(extra ?? {})) {
    out[key] = value && typeof value === 'object' && !Array.isArray(value) ? { ...out[key], ...value } : value
  }
  return out
}

/** A small deterministic source of simulated events (the same run every time for one seed). */
function createSource(seed) {
  let state = seed >>> 0 || 1
  const random = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
  const pick = (list) => list[Math.floor(random() * list.length)]
  const load = Object.fromEntries(HOSTS.map((h) => [h, { cpu: 30 + random() * 30, mem: 40 + random() * 30 }]))
  const open = []
  let alerts = 0
  let incidents = 0

  return function next() {
    const r = random()
    if (r < 0.55) {
      const host = pick(HOSTS)
      const metric = random() < 0.6 ? 'cpu' : 'mem'
      const v = Math.min(99, Math.max(1, load[host][metric] + (random() - 0.5) * 12))
      load[host][metric] = v
      return { event: `host.${host}.${metric}`, data: { value: Math.round(v * 10) / 10, unit: '%' } }
    }
    if (r < 0.8) {
      alerts++
      return { event: 'alert', data: { id: `a-${alerts}`, severity: random() < 0.3 ? 'high' : 'low', host: pick(HOSTS), message: pick(ALERTS) } }
    }
    if (open.length > 0 && (open.length >= 3 || random() < 0.45)) {
      const i = Math.floor(random() * open.length)
      const [incident] = open.splice(i, 1)
      return { event: 'incident.resolved', data: { id: incident.id, title: incident.title } }
    }
    incidents++
    const incident = { id: `inc-${incidents}`, title: pick(INCIDENTS) }
    open.push(incident)
    return { event: 'incident.created', data: { ...incident, severity: random() < 0.4 ? 'high' : 'low' } }
  }
}

async function readJson(req) {
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > 4096) throw new Error('body too large')
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? JSON.parse(text) : {}
}

/**
 * Start the demo. Resolves once it listens.
 *
 * @param {object} [options]
 * @param {number} [options.port] 0 picks a free port. @default 0
 * @param {string} [options.host] @default '127.0.0.1'
 * @param {boolean} [options.quiet] No console output. @default false
 * @param {number} [options.eventInterval] ms between simulated events. @default 300
 * @param {object} [options.client] Overrides of DEMO_CLIENT_OPTIONS (per group: reconnect, heartbeat, polling, replay).
 * @param {number} [options.seed] Seed of the simulated events. @default 42
 */
export async function startDemo({ port = 0, host = '127.0.0.1', quiet = false, eventInterval = 300, client = {}, seed = 42 } = {}) {
  const log = quiet ? () => {} : (...args) => console.log('[demo]', ...args)
  const clientOptions = mergeOptions(DEMO_CLIENT_OPTIONS, client)
  const next = createSource(seed)

  /** The realtime server currently attached; undefined while a restart swaps it. */
  let rt
  let restarting
  let restarts = 0
  let refusing = false
  let silent = false
  let silentTimer
  let paused = false
  /** publish() calls made to a live server, and what the closed servers counted. */
  let published = 0
  const previous = Object.fromEntries(COUNTERS.map((c) => [c, 0]))

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!quiet) console.error('[demo]', error)
      if (!res.headersSent) sendJson(res, 500, { error: String(error?.message ?? error) })
      else res.destroy()
    })
  })

  // Registered before the realtime server's own listener: it watches upgrades and takes the ones
  // that arrive while a restart has no realtime server attached.
  httpServer.on('upgrade', (req, socket) => {
    if ((req.url ?? '/').split('?')[0] !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    if (!rt) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n')
      return
    }
    // A half-open link lasts until a client gives up on it and connects again.
    if (silent) endSilence('a client reconnected')
  })

  const attach = () =>
    createRealtimeServer({
      server: httpServer,
      path: WS_PATH,
      pollPath: POLL_PATH,
      replayBuffer: 1000,
      heartbeat: 15_000,
      onError: (error, context) => {
        if (!quiet) console.error(`[demo] realtime server: ${context}:`, error)
      },
    })

  rt = attach()

  function endSilence(why) {
    clearTimeout(silentTimer)
    if (!silent) return
    silent = false
    rt?.setSilent(false)
    log(`server talks again (${why})`)
  }

  function serverStats() {
    const current = rt?.stats()
    const totals = Object.fromEntries(COUNTERS.map((c) => [c, previous[c] + (current?.[c] ?? 0)]))
    return {
      ...totals,
      connections: current?.connections ?? 0,
      sessions: current?.sessions ?? 0,
      heldPolls: current?.heldPolls ?? 0,
    }
  }

  /** What the page's server panel and the tests read. */
  function state() {
    return { published, paused, refusing, silent, restarts, restarting: restarting !== undefined, server: serverStats() }
  }

  function publishNext() {
    if (paused || !rt) return
    const { event, data } = next()
    rt.publish(event, data)
    published++
  }
  const ticker = setInterval(publishNext, eventInterval)

  async function restart() {
    restarting ??= (async () => {
      const old = rt
      rt = undefined
      clearTimeout(silentTimer)
      silent = false
      try {
        await old.close()
      } finally {
        const final = old.stats()
        for (const c of COUNTERS) previous[c] += final[c]
        rt = attach()
        rt.refuseWebSocket(refusing)
        restarts++
      }
      log(`realtime server restarted (${restarts}): every session is gone`)
    })().finally(() => {
      restarting = undefined
    })
    return restarting
  }

  const controls = {
    '/demo/drop': () => {
      rt?.dropConnections()
      log('dropped every connection')
    },
    '/demo/silent': () => {
      if (!rt) return
      silent = true
      rt.setSilent(true)
      clearTimeout(silentTimer)
      silentTimer = setTimeout(() => endSilence('time limit'), SILENT_MAX)
      log('server went silent (half-open link)')
    },
    '/demo/refuse-websocket': (body) => {
      refusing = body?.on !== false
      rt?.refuseWebSocket(refusing)
      log(refusing ? 'refusing WebSocket upgrades (503)' : 'accepting WebSocket upgrades again')
    },
    '/demo/restart': () => restart(),
    '/demo/pause': (body) => {
      paused = body?.on !== false
      log(paused ? 'event source paused' : 'event source running')
    },
  }

  async function handle(req, res) {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'POST' && Object.hasOwn(controls, path)) {
      const body = await readJson(req).catch(() => ({}))
      await controls[path](body)
      return sendJson(res, 200, state())
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed')
    if (path === POLL_PATH) {
      // Only reached while a restart swaps the realtime server.
      res.writeHead(503, { 'retry-after': '1', 'content-length': '0' })
      return res.end()
    }
    if (path === '/demo/state') return sendJson(res, 200, state())
    if (path === '/demo/config') return sendJson(res, 200, { wsPath: WS_PATH, pollPath: POLL_PATH, client: clientOptions })
    if (path === '/main.js') return sendBundle(res)
    if (path === '/main.js.map' && sourceMap) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': sourceMap.length, 'cache-control': 'no-store' })
      return res.end(sourceMap)
    }
    const file = STATIC[path]
    if (file) {
      const body = await readFile(join(here, file.file))
      res.writeHead(200, { 'content-type': file.type, 'content-length': body.length, 'cache-control': 'no-store' })
      return res.end(body)
    }
    if (path === '/favicon.ico') {
      res.writeHead(204)
      return res.end()
    }
    return sendText(res, 404, 'not found')
  }

  /** The page script's source map, from the latest bundle (the browser asks for it with devtools open). */
  let sourceMap

  /** The page script, bundled on request (so edits show up on reload) with `wirefeed` from dist/. */
  async function sendBundle(res) {
    await stat(distIndex).catch(() => {
      throw new Error(`${distIndex} is missing: run \`npm run build\``)
    })
    const result = await esbuild.build({
      entryPoints: [join(here, 'main.js')],
      outfile: join(here, 'main.bundle.js'), // not written: names the output and its map
      bundle: true,
      write: false,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      sourcemap: 'linked',
      logLevel: 'silent',
      plugins: [
        {
          name: 'wirefeed-from-dist',
          setup(build) {
            build.onResolve({ filter: /^wirefeed$/ }, () => ({ path: distIndex }))
          },
        },
      ],
    })
    const js = result.outputFiles.find((f) => f.path.endsWith('.js'))
    sourceMap = result.outputFiles.find((f) => f.path.endsWith('.map'))?.contents
    const body = Buffer.from(js.text.replace(/sourceMappingURL=\S+$/m, 'sourceMappingURL=/main.js.map'))
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' })
    res.end(body)
  }

  await new Promise((resolveListen, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject)
      resolveListen()
    })
  })
  const address = httpServer.address()
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`

  let closing
  return {
    url,
    state,
    /** Stop (true) or resume (false) the simulated events, as the page's pause button does. */
    pause: (on = true) => controls['/demo/pause']({ on }),
    close: () =>
      (closing ??= (async () => {
        clearInterval(ticker)
        clearTimeout(silentTimer)
        await restarting?.catch(() => {})
        await rt?.close()
        rt = undefined
        await new Promise((done) => {
          httpServer.close(() => done())
          httpServer.closeAllConnections()
        })
      })()),
  }
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}

function sendText(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

const runDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href
if (runDirectly) {
  const port = Number(process.env.PORT ?? 8080)
  const demo = await startDemo({ port, host: process.env.HOST ?? '127.0.0.1' })
  console.log(`wirefeed live demo: ${demo.url}  (Ctrl+C to stop)`)
  const stop = () => {
    demo.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
