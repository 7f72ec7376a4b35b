/**
 * msw set-up for the flows of the protocol adapters: a server of the adapter's own shape as an
 * msw `ws.link` (each socket's URL and the frames it got, parsed), and clients closed after every
 * test.
 */
import { type WebSocketHandler, ws } from 'msw'
import { RealtimeClient } from '../../src/index.js'
import { useMswClients } from '../flows/harness.js'
import type { ClientOptions, EventSchemas } from '../../src/types.js'

export { FAST } from '../flows/harness.js'

/** One socket as the mocked server sees it. */
export interface Socket {
  /** The URL the client opened, query string included. */
  url: string
  /** The frames the client sent on it, parsed as JSON (a frame that is not JSON as its text). */
  received: unknown[]
  open: boolean
  /** Send a frame: a string as it is, anything else as JSON. */
  send(frame: unknown): void
  close(code?: number, reason?: string): void
}

export interface MockServer {
  handler: WebSocketHandler
  sockets: Socket[]
  /** The latest socket; throws when there is none yet. */
  last(): Socket
}

export interface MockServerHooks {
  /** Runs for each socket as it connects. */
  onSocket?(socket: Socket): void
  /** Runs for each frame a client sends, once it is recorded. */
  onMessage?(message: unknown, socket: Socket): void
}

/** A WebSocket server at `url` (an msw `ws.link`). */
export function mockServer(url: string, { onSocket, onMessage }: MockServerHooks = {}): MockServer {
  const sockets: Socket[] = []
  const handler = ws.link(url).addEventListener('connection', ({ client }) => {
    const socket: Socket = {
      url: client.url.href,
      received: [],
      open: true,
      send: (frame) => client.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      close: (code, reason) => {
        socket.open = false
        client.close(code, reason)
      },
    }
    client.addEventListener('message', (e) => {
      const text = String(e.data)
      let message: unknown
      try {
        message = JSON.parse(text)
      } catch {
        message = text
      }
      socket.received.push(message)
      onMessage?.(message, socket)
    })
    client.addEventListener('close', () => (socket.open = false))
    sockets.push(socket)
    onSocket?.(socket)
  })
  return {
    handler,
    sockets,
    last() {
      const s = sockets.at(-1)
      if (!s) throw new Error('no socket yet')
      return s
    },
  }
}

/** An msw server for the file's tests (handlers are added per test with `server.use`), and clients closed after each test. */
export function setupProtocolFlows() {
  const { server, track } = useMswClients([])

  /** A client closed after the test. */
  function client<S extends EventSchemas = EventSchemas>(o: ClientOptions<S>): RealtimeClient<S> {
    return track(new RealtimeClient<S>({ dedupe: false, ...o }))
  }

  return { server, client }
}
