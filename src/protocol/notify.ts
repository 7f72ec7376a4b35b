/**
 * Notifications only: the server tells its clients over the socket that something changed, and
 * each client fetches the new state over HTTP from the app's `pollUrl` (e.g. an HTMX-style
 * dashboard whose page re-reads its partials when told to).
 *
 * Server to client: whatever frame arrives (`{"type":"changed"}`, `"refresh"`, an empty text...): the
 * state changed. The client fetches `pollUrl` at most once per second however many arrive (one
 * more fetch follows a burst), and delivers each answer as one event, named `changed` unless
 * `event` says otherwise: its data is the body parsed as JSON, or the body as text when it is not
 * JSON (an HTML fragment).
 * Client to server: nothing.
 *
 * The server is silent between changes, so the client does not watch the link for silence (set
 * `heartbeat.interval` if the server sends a keep-alive at least that often; each frame also
 * means a fetch). When the socket cannot be opened, the client falls back to fetching `pollUrl`
 * every 60 s (`polling.interval`). Notifications carry no seq: one sent while the link was down is
 * lost, and the client says so with a `resync` on every reconnect.
 */
import { parse, stripped } from './json.js'
import { type SocketUrlOptions, socketUrl } from './query.js'
import type { Decoded, Inbound, PollResult, Protocol } from './types.js'

export interface NotifyOptions extends SocketUrlOptions {
  /** The name of the event each fetched state is delivered as. @default 'changed' */
  event?: string
}

/**
 * The protocol of a server whose socket only says that something changed (any frame). The client
 * then fetches `pollUrl`, at most once per second, and delivers the answer as one event named
 * `event` (`changed`): the body parsed as JSON, or its text. While the socket cannot be opened, it
 * fetches `pollUrl` every 60 s. No seq: a `resync` on every reconnect (call `refresh()` on it). See
 * the README, "Bring your own server".
 *
 * @example
 * new RealtimeClient({
 *   url: 'wss://app.example.com/ws/notify',
 *   pollUrl: 'https://app.example.com/dashboard/stats',
 *   protocol: notifyProtocol(),
 *   subscribe: ['changed'],
 * })
 */
export function notifyProtocol(options?: NotifyOptions): Protocol {
  const event = options?.event ?? 'changed'

  /** One answer, one event. */
  function decodePoll(body: string): Decoded<PollResult> {
    const json = parse(body)
    const value: PollResult = { events: [{ type: 'event', event, data: json === undefined ? body : json }] }
    return stripped ? { ok: true, value, warning: 'a "__proto__" key was removed from the response' } : { ok: true, value }
  }

  return {
    name: 'notify',
    capabilities: { seq: false, handshake: 'none', ping: false, filter: false },
    // what a frame says is only that something changed
    decode: (): Inbound => ({ type: 'changed' }),
    encode: () => null,
    socketUrl: socketUrl(options),
    // the state lives at `pollUrl` as it is: no session, position or wait to ask for
    http: { pollUrl: (base) => base, decodePoll },
    defaults: { heartbeat: { interval: 0 }, polling: { interval: 60_000 }, refetchInterval: 1000 },
  }
}
