/**
 * The WebSocket transport: one socket attempt at a time over reconnecting-websocket.
 *
 * reconnecting-websocket gives us the socket, the injectable constructor and the open timeout.
 * Its own retry loop is switched off (`maxRetries: 0`): it has no jitter, its wait timer cannot be
 * cancelled by `close()`, and it cannot tell a 4001 from a 4008. The connection decides when to
 * try again (backoff.ts) and calls `open()` for each attempt, which gets a fresh instance: with
 * `maxRetries: 0`, one whose socket was closed keeps its internal connect lock and would silently
 * ignore `reconnect()`.
 */
import ReconnectingWebSocket from 'reconnecting-websocket'
import type { WebSocketConstructor } from '../types.js'

export interface SocketHooks {
  open(): void
  message(data: unknown): void
  /**
   * The socket closed without `close()` being called (server close, network loss, open timeout).
   * `cause` is set when the socket could not even be created (the constructor threw).
   */
  close(code: number, reason: string, cause?: unknown): void
}

const OPEN = 1
/** Stands in for a socket whose constructor threw, so reconnecting-websocket's chain goes on. */
const NO_SOCKET = { readyState: 3, binaryType: 'blob', addEventListener() {}, removeEventListener() {}, close() {}, send() {} }

export class WebSocketTransport {
  #rws: ReconnectingWebSocket | undefined
  /** Events are handled only while an attempt is live; late events of a dropped socket are ignored. */
  #live = false
  /** Numbers the attempts: events and failures of an older one are ignored. */
  #attempt = 0

  readonly #WebSocketClass: WebSocketConstructor
  readonly #hooks: SocketHooks
  readonly #connectTimeout: number

  constructor(
    WebSocketClass: WebSocketConstructor,
    hooks: SocketHooks,
    connectTimeout: number,
  ) {
    this.#WebSocketClass = WebSocketClass
    this.#hooks = hooks
    this.#connectTimeout = connectTimeout
  }

  /** Start an attempt with an already resolved URL (dropping the previous socket, if any). */
  open(url: string): void {
    this.close(1000, 'reconnect')
    const attempt = ++this.#attempt
    const current = (): boolean => this.#live && this.#attempt === attempt
    const rws = new ReconnectingWebSocket(url, undefined, {
      WebSocket: this.#guard(current),
      maxRetries: 0,
      connectionTimeout: this.#connectTimeout,
      maxEnqueuedMessages: 0,
      minReconnectionDelay: 0,
    })
    rws.addEventListener('open', () => {
      if (current()) this.#hooks.open()
    })
    rws.addEventListener('message', (e) => {
      if (current()) this.#hooks.message(e.data)
    })
    rws.addEventListener('close', (e) => {
      if (!current()) return
      this.#live = false
      // reconnecting-websocket turns a socket error or its open timeout into a close event of its
      // own with code 1000; report what it is: an abnormal closure (1006)
      const synthetic = e.target === rws
      this.#hooks.close(synthetic ? 1006 : e.code, (synthetic ? e.reason || 'connection failed' : e.reason) ?? '')
    })
    this.#rws = rws
    this.#live = true
  }

  /** Send a frame; false when the socket is not open (nothing is queued). */
  send(frame: string): boolean {
    if (!this.#live || this.#rws?.readyState !== OPEN) return false
    this.#rws.send(frame)
    return true
  }

  /** Drop the current socket at once; no `close` hook follows. */
  close(code = 1000, reason = ''): void {
    this.#live = false
    try {
      this.#rws?.close(code, reason)
    } catch {
      // a socket that never opened may refuse close codes; it is gone either way
    }
  }

  /**
   * The constructor handed to reconnecting-websocket, which calls it inside a promise chain: a
   * throw there (a malformed URL, a blocked port) would be an unhandled rejection and a silent
   * hang. This one reports it as a failed attempt instead.
   */
  #guard(current: () => boolean): WebSocketConstructor {
    const Socket = this.#WebSocketClass
    const failed = (cause: unknown): void =>
      queueMicrotask(() => {
        if (!current()) return
        this.close()
        this.#hooks.close(1006, 'could not open', cause)
      })
    return class {
      static readonly CLOSING = 2
      constructor(url: string, protocols?: string | string[]) {
        try {
          return new Socket(url, protocols)
        } catch (cause) {
          failed(cause)
          return NO_SOCKET
        }
      }
    } as unknown as WebSocketConstructor
  }
}
