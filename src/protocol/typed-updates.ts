/**
 * A dashboard feed: the server speaks first, then pushes typed messages on its own schedule (e.g.
 * a FastAPI endpoint that sends fresh metrics every 5 s), with its settings, such as the time
 * range, as query parameters of the socket URL. The client sends nothing.
 *
 * Server to client:
 *   {"type":"connection","client_id":"c-81f2","status":"connected","timestamp":"..."}
 *                                       first, once per socket: the link is open (`client_id` optional)
 *   {"type":"metrics_update","data":{...},"timestamp":"2025-01-01T12:00:05Z"}
 *   {"type":"security_metrics_update","data":{...},"timestamp":"..."}
 *                                       events: `type` is the name (any type not listed here is an
 *                                       event too), `data` the payload, `timestamp` (ISO 8601,
 *                                       optional) the event's `ts`
 *   {"type":"heartbeat","timestamp":"..."}     keeps the link alive; no event
 *   {"type":"error","message":"...","code":"..."}     `code` optional
 *
 * The server answers no ping: the client takes a link that stays silent for `heartbeat.interval +
 * heartbeat.timeout` for dead. It filters events by its own patterns. Events carry no seq, so what
 * was pushed while the link was down is lost, and the client says so with a `resync` on every
 * reconnect.
 */
import { type Field, OPTIONAL, STR, parse, read } from './json.js'
import { type SocketUrlOptions, socketUrl } from './query.js'
import { type Message, type Reader, decodeTyped, serverError } from './typed.js'
import type { Inbound, Protocol } from './types.js'

export type TypedUpdatesOptions = SocketUrlOptions

const CONNECTION: readonly Field[] = [['client_id', STR, OPTIONAL]]
const OWN = new Map<string, Reader>([
  ['connection', (m) => {
    const out = read(m, CONNECTION, {} as { client_id?: string })
    return typeof out === 'string' ? out : ({ type: 'welcome', session: out.client_id ?? '', resumed: false, seq: 0 } satisfies Message)
  }],
  ['heartbeat', () => null],
  ['error', serverError],
])

/**
 * The protocol of a typed-updates feed. It speaks first (`{"type":"connection",...}`), then sends
 * `{"type":"metrics_update","data":{...},"timestamp":"..."}` and the like (every `type` but
 * `connection`, `heartbeat` and `error` is an event of that name), and takes no message; `query`
 * goes in the socket URL. No ping: a link silent for `heartbeat.interval + timeout` is dead. No
 * seq: a `resync` on every reconnect; the client filters by its patterns. See the README, "Bring
 * your own server".
 *
 * @example
 * new RealtimeClient({
 *   url: 'wss://dashboard.example.com/ws/metrics',
 *   protocol: typedUpdatesProtocol({ query: { time_range: '1h' } }),
 *   subscribe: ['metrics_update', 'security_metrics_update'],
 * })
 */
export function typedUpdatesProtocol(options?: TypedUpdatesOptions): Protocol {
  return {
    name: 'typed-updates',
    capabilities: { seq: false, handshake: 'server', ping: false, filter: false },
    decode: (frame: string): Inbound | null => decodeTyped(parse(frame), OWN),
    // the server takes no message
    encode: () => null,
    socketUrl: socketUrl(options),
  }
}
