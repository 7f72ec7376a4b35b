/**
 * A WebSocket the test plays the server of, injected through the client's `WebSocket` option: no
 * network, no msw, every frame under the test's control and on the test's clock (fake timers
 * work). The test opens sockets, sends frames and closes them; the client's frames land in `sent`,
 * and an `onSend` hook lets a scripted server answer them.
 *
 * The socket delivers its events to the listeners the client registered, one by one, inside a
 * `try`: an exception that escapes the client's handlers does not vanish into an event loop but is
 * kept in `escaped`, where a test can assert that there is none.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest'
import type { WebSocketConstructor } from '../../src/types.js'

type Listener = (event: unknown) => void

/** A message the client sent, parsed. */
export type SentMessage = { type: string } & Record<string, unknown>

export class ScriptedSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  readyState = 0
  binaryType = 'blob'
  readonly bufferedAmount = 0
  readonly extensions = ''
  readonly protocol = ''
  /** Frames the client sent, as sent. */
  readonly sent: string[] = []
  /** The code and reason of the client's `close()`, once it called it. */
  closedWith: [number | undefined, string | undefined] | undefined
  readonly #listeners = new Map<string, Listener[]>()

  constructor(
    readonly url: string,
    readonly server: ScriptedServer,
  ) {}

  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener])
  }

  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, (this.#listeners.get(type) ?? []).filter((l) => l !== listener))
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send() on a socket in state ${this.readyState}`)
    this.sent.push(data)
    this.server.onSend?.(this, JSON.parse(data) as SentMessage)
  }

  close(code?: number, reason?: string): void {
    if (this.readyState === 3) return
    this.closedWith = [code, reason]
    this.readyState = 3
    // as a real socket: the close event follows, later
    queueMicrotask(() => this.#emit('close', { code: code ?? 1005, reason: reason ?? '', wasClean: true }))
  }

  /** The client's messages, parsed; only those of `type` when given. */
  messages(type?: string): SentMessage[] {
    return this.sent.map((f) => JSON.parse(f) as SentMessage).filter((m) => type === undefined || m.type === type)
  }

  // ---- the server's side ----

  /** The server accepts the socket. */
  open(): void {
    this.readyState = 1
    this.#emit('open', {})
  }

  /** The socket starts closing: frames may still arrive, nothing can be sent. */
  closing(): void {
    this.readyState = 2
  }

  /** The server sends a frame: a string as it is, an object as JSON. */
  frame(data: unknown): void {
    if (this.readyState !== 1 && this.readyState !== 2) throw new Error('frame() on a socket that is not open')
    this.#emit('message', { data: typeof data === 'string' || data instanceof Uint8Array ? data : JSON.stringify(data) })
  }

  /** The server (or the network) closes the socket. */
  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return
    this.readyState = 3
    this.#emit('close', { code, reason, wasClean: code !== 1006 })
  }

  #emit(type: string, init: object): void {
    const event = { type, target: this, ...init }
    for (const listener of this.#listeners.get(type) ?? []) {
      try {
        listener(event)
      } catch (error) {
        this.server.escaped.push(error)
      }
    }
  }
}

export interface ScriptedServer {
  /** The constructor to pass as the client's `WebSocket` option. */
  readonly WebSocket: WebSocketConstructor
  /** Every socket the client created, oldest first. */
  readonly sockets: ScriptedSocket[]
  /** Exceptions that escaped the client's event handlers. */
  readonly escaped: unknown[]
  /** Called with every socket the client creates (to open it, refuse it...). */
  onSocket: ((socket: ScriptedSocket) => void) | undefined
  /** Called with every message the client sends. */
  onSend: ((socket: ScriptedSocket, message: SentMessage) => void) | undefined
  /** The newest socket. */
  readonly last: ScriptedSocket | undefined
}

/** A scripted server: its `WebSocket` constructor records each socket and hands it to `onSocket`. */
export function scriptedServer(): ScriptedServer {
  const server: ScriptedServer = {
    sockets: [],
    escaped: [],
    onSocket: undefined,
    onSend: undefined,
    get last() {
      return server.sockets.at(-1)
    },
    WebSocket: class extends ScriptedSocket {
      constructor(url: string) {
        super(url, server)
        server.sockets.push(this)
        server.onSocket?.(this)
      }
    } as unknown as WebSocketConstructor,
  }
  return server
}

/**
 * The usual server: it accepts every socket at once and answers `hello` with `welcome` (a new
 * session `s1` at `head()`, or that session resumed when `hello` names it), each a microtask later
 * as over a network.
 */
export function autoWelcome(server: ScriptedServer, head: () => number = () => 0, welcome: Record<string, unknown> = {}): void {
  server.onSocket = (s) => queueMicrotask(() => s.readyState === 0 && s.open())
  server.onSend = (s, m) => {
    if (m.type !== 'hello') return
    queueMicrotask(() => {
      if (s.readyState === 1) s.frame({ type: 'welcome', v: 1, session: 's1', resumed: m.session === 's1', seq: head(), ...welcome })
    })
  }
}

/**
 * Fake timers for every test of the file, and the clients a test makes (push them on the returned
 * list) closed after it, checking that no timer is left behind.
 */
export function useScriptedClients<C extends { close(): void }>(): C[] {
  const clients: C[] = []
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    for (const c of clients.splice(0)) c.close()
    expect(vi.getTimerCount(), 'timers left after close()').toBe(0)
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })
  return clients
}
