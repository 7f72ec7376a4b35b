/**
 * A dashboard hub: the server pushes `dashboard_update`s to every client, answers `ping` and
 * `refresh` actions, and takes a JWT as a query parameter of the socket URL (e.g. a Go Fiber
 * WebSocket hub).
 *
 * Client to server:
 *   {"action":"ping"}
 *   {"action":"refresh"}                    asks for a `dashboard_update` now (`client.refresh()`)
 * Server to client:
 *   {"action":"pong"}                       the answer to a ping
 *   {"type":"dashboard_update","data":{...},"timestamp":"2025-01-01T12:00:00Z"}
 *                                           an event: `type` is its name (any type other than
 *                                           `error` is an event too), `data` its payload,
 *                                           `timestamp` (RFC 3339, optional) its `ts`
 *   {"type":"error","message":"...","code":"..."}     `code` optional
 *
 * The token goes in the URL when the socket opens (`?token=...` with the `auth` option); the hub
 * has no message to renew it, so a renewed token is used from the next socket on. The hub has no
 * subscriptions: the client filters events by its own patterns. Its pong carries no id, so
 * `stats.rtt` stays null. Events carry no seq: what was pushed while the link was down is lost,
 * and the client says so with a `resync` on every reconnect.
 */
import { isObj, isStr, parse } from './json.js'
import { type SocketUrlOptions, socketUrl } from './query.js'
import { type Reader, decodeTyped, serverError, settle } from './typed.js'
import type { Inbound, Outbound, Protocol } from './types.js'

export type HubOptions = SocketUrlOptions

const OWN = new Map<string, Reader>([['error', serverError]])

function decode(frame: string): Inbound | null {
  const m = parse(frame)
  // an answer to an action; an action the client never sends is ignored
  if (isObj(m) && isStr(m.action)) return m.action === 'pong' ? settle({ type: 'pong', id: 0 }, 'pong') : null
  return decodeTyped(m, OWN)
}

function encode(m: Outbound): string | null {
  if (m.type === 'ping' || m.type === 'refresh') return JSON.stringify({ action: m.type })
  // no subscriptions, sessions, acks or token renewal on the hub
  return null
}

/**
 * The protocol of a dashboard hub. It takes `{"action":"ping"}` (answered `{"action":"pong"}`)
 * and `{"action":"refresh"}`, sends `{"type":"dashboard_update","data":{...},"timestamp":"..."}`
 * (every `type` but `error` is an event of that name), and takes the JWT of `auth` in the URL
 * (`?token=`, or `tokenParam`). No seq: a `resync` on every reconnect; the client filters by its
 * patterns. See the README, "Bring your own server".
 *
 * @example
 * new RealtimeClient({
 *   url: 'wss://hub.example.com/ws',
 *   protocol: hubProtocol({ tokenParam: 'token' }),
 *   auth: { getToken: fetchJwt },
 *   subscribe: ['dashboard_update'],
 * })
 */
export function hubProtocol(options?: HubOptions): Protocol {
  return {
    name: 'hub',
    capabilities: { seq: false, handshake: 'none', ping: true, filter: false },
    decode,
    encode,
    socketUrl: socketUrl(options),
  }
}
