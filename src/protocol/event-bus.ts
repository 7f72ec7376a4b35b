/**
 * An event bus: the server publishes events named by their `type` and sends each client the types
 * it subscribed to, or every type while it subscribed to none (e.g. a FastAPI WebSocket endpoint
 * in front of a pub/sub bus, whose backpressure skips messages for a client that reads too slowly).
 *
 * Server to client:
 *   {"type":"alert","data":{...},"timestamp":"2025-01-01T12:00:00Z"}   an event: `type` is its name,
 *                                       `data` its payload, `timestamp` (ISO 8601, optional) its `ts`
 *   {"type":"pong","id":3}                                 the answer to a ping (`id` echoed, optional)
 *   {"type":"error","message":"...","code":"..."}          `code` optional
 * Client to server:
 *   {"type":"subscribe","events":["alert","incident"]}     adds exact type names to the client's set
 *   {"type":"unsubscribe","events":["alert"]}              removes them
 *   {"type":"ping","id":3}
 *
 * The bus knows exact names only. A wildcard pattern (`*`, `alert.*`, `**`) cannot be said to it,
 * so while the client holds one it keeps the bus's set empty (every type comes) and filters itself;
 * the frames below keep the bus's set equal to the client's exact names otherwise. Events carry no
 * seq: what the bus skipped or sent while the link was down is lost, and the client says so with a
 * `resync` on every reconnect.
 */
import { type Field, ID, OPTIONAL, parse, read } from './json.js'
import { type SocketUrlOptions, socketUrl } from './query.js'
import { type Message, type Reader, decodeTyped, serverError } from './typed.js'
import type { Inbound, Outbound, Protocol } from './types.js'

export type EventBusOptions = SocketUrlOptions

const PONG_FIELDS: readonly Field[] = [['id', ID, OPTIONAL]]
/** Without an `id`, 0: a pong that answers no ping in particular (the link is alive, no round trip is measured). */
const PONG: Reader = (m) => read<Message>(m, PONG_FIELDS, { type: 'pong', id: 0 })
const OWN = new Map<string, Reader>([
  ['pong', PONG],
  ['error', serverError],
])

const isWild = (pattern: string): boolean => pattern.split('.').some((s) => s === '*' || s === '**')
const exact = (patterns: readonly string[]): string[] => patterns.filter((p) => !isWild(p))

/**
 * The frame that brings the bus's set from what the client held before this change to what it
 * holds now (`all`): the exact names, or nothing while a wildcard is held. Null when the set does
 * not change.
 */
function subscription(m: Extract<Outbound, { type: 'subscribe' | 'unsubscribe' }>): string | null {
  const adding = m.type === 'subscribe'
  const before = adding ? m.all.filter((p) => !m.events.includes(p)) : [...m.all, ...m.events]
  const was = before.some(isWild) ? [] : exact(before)
  const now = m.all.some(isWild) ? [] : exact(m.all)
  const added = now.filter((p) => !was.includes(p))
  const removed = was.filter((p) => !now.includes(p))
  // one change at a time: a subscribe adds (or, with a first wildcard, empties the set), an unsubscribe removes (or, with the last wildcard gone, fills it)
  if (added.length > 0) return JSON.stringify({ type: 'subscribe', events: added })
  if (removed.length > 0) return JSON.stringify({ type: 'unsubscribe', events: removed })
  return null
}

function encode(m: Outbound): string | null {
  if (m.type === 'subscribe' || m.type === 'unsubscribe') return subscription(m)
  if (m.type === 'ping') return JSON.stringify({ type: 'ping', id: m.id })
  // no session, replay, acks, refresh or token renewal on a bus
  return null
}

/**
 * The protocol of an event bus. It sends `{"type":"alert","data":{...},"timestamp":"..."}` (every
 * `type` but `pong` and `error` is an event of that name), takes `{"type":"subscribe"|"unsubscribe",
 * "events":[...]}` of exact names (none = every type) and answers `{"type":"ping","id":3}` with
 * `{"type":"pong","id":3}`. No seq: a `resync` on every reconnect; the client filters by its
 * patterns. See the README, "Bring your own server".
 *
 * @example
 * new RealtimeClient({ url: 'wss://bus.example.com/ws', protocol: eventBusProtocol(), subscribe: ['alert', 'incident'] })
 */
export function eventBusProtocol(options?: EventBusOptions): Protocol {
  return {
    name: 'event-bus',
    capabilities: { seq: false, handshake: 'none', ping: true, filter: false },
    decode: (frame: string): Inbound | null => decodeTyped(parse(frame), OWN),
    encode,
    socketUrl: socketUrl(options),
  }
}
