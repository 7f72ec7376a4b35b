/**
 * The WebSocket endpoint: upgrades on `path` (or refuses them), the set of open connections, and
 * the one heartbeat timer that serves them all.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { SocketConnection } from './connection.js'
import type { Hub } from './hub.js'
import { CloseCode } from './wire.js'

/** How long `close()` waits for clients to answer the close frame before cutting them off, ms. */
const CLOSE_GRACE = 1000

/** The path part of a request URL (no query string). */
export const pathOf = (url: string | undefined): string => {
  const s = url ?? '/'
  const q = s.indexOf('?')
  return q < 0 ? s : s.slice(0, q)
}

export class SocketEndpoint<P extends object> {
  /** Test hook: answer upgrades with 503 so clients fall back to polling. */
  refusing = false
  private readonly wss: WebSocketServer
  private readonly connections = new Set<SocketConnection<P>>()
  private readonly ticker: ReturnType<typeof setInterval>
  /** Set while `close()` waits for the last connection to go. */
  private emptied: (() => void) | undefined

  constructor(private readonly hub: Hub<P>) {
    const { maxMessageBytes, heartbeat } = hub.settings
    this.wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: maxMessageBytes, perMessageDeflate: false })
    // Ticking at half the interval terminates a silent socket between 2 and 2.5 intervals after its last frame.
    this.ticker = setInterval(() => {
      const now = Date.now()
      for (const c of this.connections) c.tick(now, heartbeat)
    }, heartbeat / 2)
  }

  get size(): number {
    return this.connections.size
  }

  /** Frames waiting to be written: the total and the deepest socket. */
  queues(): { queued: number; maxQueued: number } {
    let queued = 0
    let maxQueued = 0
    for (const c of this.connections) {
      queued += c.queued
      maxQueued = Math.max(maxQueued, c.queued)
    }
    return { queued, maxQueued }
  }

  /** Take an upgrade for `path`; false for any other path (left to the application). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (pathOf(request.url) !== this.hub.settings.path) return false
    if (this.refusing || this.hub.closed) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return true
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (this.hub.closed) return ws.terminate()
      const connection = new SocketConnection(ws, request, this.hub, (c) => this.forget(c))
      this.connections.add(connection)
      // Each session has at most one socket, so more sockets than sessions means overload.
      if (this.connections.size > this.hub.settings.maxSessions) {
        this.hub.counters.add('overCapacity')
        connection.close(CloseCode.OVER_CAPACITY, 'too many connections')
      }
    })
    return true
  }

  /** Test hook: cut every socket (`terminate`), or close each with `code`. */
  drop(code?: number): void {
    for (const c of [...this.connections]) {
      if (code === undefined) c.terminate()
      else c.close(code, 'dropped')
    }
  }

  /** Close every socket with 1001 and stop the heartbeat; resolves once they are all gone. */
  async close(): Promise<void> {
    clearInterval(this.ticker)
    const open = [...this.connections]
    for (const c of open) c.close(CloseCode.GOING_AWAY, 'server closing')
    await new Promise<void>((resolve) => {
      if (this.connections.size === 0) return resolve()
      const timer = setTimeout(resolve, CLOSE_GRACE)
      this.emptied = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.emptied = undefined
    for (const c of [...this.connections]) c.terminate()
    this.connections.clear()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  private forget(connection: SocketConnection<P>): void {
    this.connections.delete(connection)
    if (this.connections.size === 0) this.emptied?.()
  }
}
