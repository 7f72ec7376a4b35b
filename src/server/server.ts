/**
 * `createRealtimeServer`: wires the hub, the WebSocket endpoint, the polling endpoint and the
 * stats endpoint onto an HTTP server (the application's, or one of its own), and tears all of it
 * down in `close()`.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { sendEmpty, sendJson } from './http.js'
import { Hub } from './hub.js'
import { type RealtimeServerOptions, toSettings } from './options.js'
import { PollEndpoint } from './polling.js'
import type { ServerStats } from './stats.js'
import { pathOf, SocketEndpoint } from './websocket.js'

/** How long `close()` lets HTTP connections finish before cutting them, ms. */
const HTTP_CLOSE_GRACE = 1000

export interface PublishOptions {
  /** Ask each client to acknowledge this event (`ack` message, reported through `onAck`). @default false */
  ack?: boolean
}

export interface RealtimeServer {
  /**
   * Deliver an event to every session whose patterns match and whose `filter` agrees, each with
   * its session's next seq. Returns how many sessions took it (0 after `close()`).
   * @throws TypeError for an invalid event name (wildcards included) or data JSON cannot carry.
   */
  publish(event: string, data: unknown, options?: PublishOptions): number
  /** Counters and gauges, as served at `statsPath`. */
  stats(): ServerStats
  /** Close every socket (1001), answer held polls, clear every timer, and close the HTTP server if this created it. Idempotent. */
  close(): Promise<void>
  /** Resolves once the server this created listens (at once when attached to a given `server`) and its `store` is connected. */
  readonly ready: Promise<void>
  /** The port the HTTP server listens on, once it listens. */
  readonly port: number | undefined
  /** `ws://host:port{path}`, once the HTTP server listens. */
  readonly url: string | undefined
  /** `http://host:port{pollPath}`, once the HTTP server listens (undefined when polling is off). */
  readonly pollUrl: string | undefined
  /**
   * Handle a request for `pollPath` or `statsPath`; false for any other path. For frameworks that
   * route requests themselves (call it from a middleware); attaching to `server` uses it already.
   */
  handleRequest(request: IncomingMessage, response: ServerResponse): boolean
  /** Handle an `upgrade` for `path`; false for any other path. Attaching to `server` uses it already. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean

  // ---- test hooks ----
  /** Cut every WebSocket (`terminate`: the client sees 1006) and every held poll; or close each socket with `code`. */
  dropConnections(code?: number): void
  /** `true`: say nothing on sockets (no welcome, pong, ping or event) and ignore what arrives: a half-open link. */
  setSilent(silent: boolean): void
  /** `true`: answer WebSocket upgrades with 503, so clients fall back to polling. */
  refuseWebSocket(refuse: boolean): void
  /**
   * Refuse the next `times` `auth` messages (token renewals on a live socket) with close 4001,
   * whatever `authenticate` would say; `hello` is not affected. @default 1
   */
  refuseAuth(times?: number): void
  /**
   * Forget every session, as a restart would: their sockets are closed (1012) and held polls cut.
   * With `redisStore`, every instance on the store forgets them.
   */
  forgetSessions(): void
}

/**
 * The reference server of wire protocol v1: WebSocket on `path`, HTTP polling on `pollPath`, stats
 * on `statsPath`. Attaches to `options.server`, or creates an HTTP server on `port`/`host`.
 */
export function createRealtimeServer<P extends object = Record<string, unknown>>(options: RealtimeServerOptions<P> = {}): RealtimeServer {
  const settings = toSettings(options)
  const hub = new Hub<P>(settings)
  const sockets = new SocketEndpoint(hub)
  const polls = settings.pollPath === false ? undefined : new PollEndpoint(hub)

  const stats = (): ServerStats =>
    hub.counters.snapshot({ connections: sockets.size, sessions: hub.store.size, heldPolls: polls?.heldCount ?? 0, ...sockets.queues() })

  const handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = pathOf(req.url)
    if (polls && path === settings.pollPath) {
      polls.handle(req, res)
      return true
    }
    if (path === settings.statsPath) {
      if (req.method === 'GET') sendJson(res, 200, JSON.stringify(stats()))
      else sendEmpty(res, 405, { allow: 'GET' })
      return true
    }
    return false
  }
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => sockets.handleUpgrade(req, socket, head)

  const own = options.server === undefined
  const server: Server = options.server ?? createServer()
  let detach: () => void
  let listening: Promise<void>
  if (own) {
    server.on('request', (req, res) => {
      if (!handleRequest(req, res)) sendEmpty(res, 404)
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    })
    listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    detach = () => {}
  } else {
    // The application's request listeners run for every other path (and only for them).
    const appListeners = server.listeners('request') as RequestListener[]
    const onRequest: RequestListener = (req, res) => {
      if (handleRequest(req, res)) return
      for (const listener of appListeners) listener.call(server, req, res)
    }
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => void handleUpgrade(req, socket, head)
    server.removeAllListeners('request')
    server.on('request', onRequest)
    server.on('upgrade', onUpgrade)
    listening = Promise.resolve()
    detach = () => {
      server.off('request', onRequest)
      server.off('upgrade', onUpgrade)
      for (const listener of appListeners) server.on('request', listener)
    }
  }

  const ready = Promise.all([listening, hub.store.ready]).then(() => {})
  // a listen error (or a store closed before it connected) is the caller's to see through
  // `ready`, never an unhandled rejection
  ready.catch(() => {})

  const address = (): AddressInfo | undefined => {
    const a = server.address()
    return a !== null && typeof a === 'object' ? a : undefined
  }
  const origin = (scheme: string): string | undefined => {
    const a = address()
    if (!a) return undefined
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    return `${scheme}://${host}:${a.port}`
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      hub.closed = true
      detach()
      if (own) await listening.catch(() => {})
      await sockets.close()
      await polls?.close()
      await hub.close()
      if (own && server.listening) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => server.closeAllConnections(), HTTP_CLOSE_GRACE)
          server.close(() => {
            clearTimeout(timer)
            resolve()
          })
          server.closeIdleConnections()
        })
      }
    })())

  return {
    publish: (event, data, opts) => hub.publish(event, data, opts?.ack === true),
    stats,
    close,
    ready,
    get port() {
      return address()?.port
    },
    get url() {
      const o = origin('ws')
      return o && o + settings.path
    },
    get pollUrl() {
      const o = origin('http')
      return o && settings.pollPath !== false ? o + settings.pollPath : undefined
    },
    handleRequest,
    handleUpgrade,
    dropConnections: (code) => {
      sockets.drop(code)
      if (code === undefined) polls?.drop()
    },
    setSilent: (silent) => {
      hub.silent = silent
    },
    refuseWebSocket: (refuse) => {
      sockets.refusing = refuse
    },
    refuseAuth: (times = 1) => {
      hub.refuseAuth = times
    },
    forgetSessions: () => hub.store.clear(),
  }
}
