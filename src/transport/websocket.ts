/**
 * The WebSocket transport: one socket attempt at a time over reconnecting-websocket.
 *
 * reconnecting-websocket gives us the socket, the URL provider, the injectable constructor and the
 * open timeout. Its own retry loop is switched off (`maxRetries: 0`): it has no jitter, its wait
 * timer cannot be cancelled by `close()`, and it cannot tell a 4001 from a 4008. The connection
 * decides when to try again (backoff.ts) and calls `open()` for each attempt.
 */
import ReconnectingWebSocket from 'reconnecting-websocket'
import type { WebSocketConstructor } from '../types.js'

export interface SocketHooks {
  open(): void
  message(data: unknown): void
  /** The socket closed without `close()` being called (server close, network loss, open timeout). */
  close(code: number, reason: string): void
}

const OPEN = 1

export class WebSocketTransport {
  private rws: ReconnectingWebSocket | undefined
  private url = ''
  /** Events are handled only while an attempt is live; late events of a dropped socket are ignored. */
  private live = false

  constructor(
    private readonly WebSocketClass: WebSocketConstructor,
    private readonly hooks: SocketHooks,
    private readonly connectTimeout: number,
  ) {}

  /** Start an attempt with an already resolved URL. */
  open(url: string): void {
    this.url = url
    this.live = false
    const rws = (this.rws ??= this.create())
    rws.reconnect()
    this.live = true
  }

  /** Send a frame; false when the socket is not open (nothing is queued). */
  send(frame: string): boolean {
    if (!this.live || this.rws?.readyState !== OPEN) return false
    this.rws.send(frame)
    return true
  }

  /** Drop the current socket at once; no `close` hook follows. */
  close(code = 1000, reason = ''): void {
    this.live = false
    try {
      this.rws?.close(code, reason)
    } catch {
      // a socket that never opened may refuse close codes; it is gone either way
    }
  }

  private create(): ReconnectingWebSocket {
    const rws = new ReconnectingWebSocket(() => this.url, undefined, {
      WebSocket: this.WebSocketClass,
      maxRetries: 0,
      startClosed: true,
      connectionTimeout: this.connectTimeout,
      maxEnqueuedMessages: 0,
      minReconnectionDelay: 0,
    })
    rws.addEventListener('open', () => {
      if (this.live) this.hooks.open()
    })
    rws.addEventListener('message', (e) => {
      if (this.live) this.hooks.message(e.data)
    })
    rws.addEventListener('close', (e) => {
      if (!this.live) return
      this.live = false
      this.hooks.close(e.code, e.reason ?? '')
    })
    return rws
  }
}
