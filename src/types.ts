/** Public types of the client. */
import type { RealtimeError } from './errors.js'
import type { Logger } from './logger.js'
import type { Protocol } from './protocol/types.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/**
 * - `idle`: not started (before the first attempt, or `autoConnect: false` and no `connect()` yet)
 * - `connecting`: the first attempt is under way
 * - `open`: a WebSocket session is established (`welcome` received)
 * - `reconnecting`: the link was lost, or attempts are failing; waiting for the next attempt
 * - `polling`: events arrive over the HTTP fallback
 * - `closed`: `close()` was called, the server refused the credentials three times in a row,
 *   there is no transport at all (no WebSocket and no `pollUrl`), or an insecure URL was refused
 *   (`allowInsecure`)
 */
export type Status = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'polling' | 'closed'

/** Continuity was lost: the app should refetch its state. */
export interface ResyncInfo {
  /**
   * - `new_session`: the server no longer knew the session (restarted, expired)
   * - `replay_failed`: the server's replay buffer no longer held what was missing
   * - `replay_timeout`: what was missing did not arrive within `replay.timeout`
   * - `buffer_full`: too many events arrived past a hole (`replay.maxBuffer`)
   */
  reason: 'new_session' | 'replay_failed' | 'replay_timeout' | 'buffer_full'
  /** First seq that will never be delivered. */
  from: number
  /** Last seq that will never be delivered; null when unknown (a new session). */
  to: number | null
  /** How many seqs between `from` and `to` were skipped; null when unknown. */
  missed: number | null
}

/** Counters of one connection (shared by its deduplicated handles). */
export interface Stats {
  /** Events delivered to the app. */
  messages: number
  /** Events dropped because they had already been delivered. */
  duplicates: number
  /** Holes detected in the seq sequence (each asks for a replay). */
  gaps: number
  /** Events that arrived late to fill a hole (replayed by the server). */
  replayed: number
  /** `resync`s reported. */
  resyncs: number
  /** Times the link was re-established after it was lost. */
  reconnects: number
  /** Round-trip time of the last answered ping, ms. */
  rtt: number | null
  /** The transport events currently arrive over; null while the link is down. */
  transport: 'websocket' | 'polling' | null
  /**
   * The protocol numbers events (`capabilities.seq`): gaps are detected and replayed, each event
   * arrives once and in order, or a `resync` says what was lost. False: events arrive as the
   * server sends them, `meta.seq` only counts them, `duplicates`/`gaps`/`replayed` stay 0, and
   * every reconnect is a `resync` (what the server sent meanwhile is unknown).
   */
  sequenced: boolean
}

/** What a listener learns besides the data. */
export interface EventMeta {
  seq: number
  event: string
  /** Server timestamp (ms), when the server sent one. */
  ts: number | undefined
}

/** The names the client emits itself; no schema may use them. */
export type BuiltinEvents = {
  status: Status
  resync: ResyncInfo
  error: RealtimeError
}

export type EventSchemas = Record<string, StandardSchemaV1>

/** A URL, or a function called before every attempt (to put a fresh token in it). */
export type UrlSource = string | (() => string | Promise<string>)

/** The constructor the client opens sockets with (the browser's `WebSocket` by default). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket

/** What `auth.getToken` gives: a token, and when it stops being valid. */
export interface AuthToken {
  /** Sent in `hello`, in `auth`, and in the `Authorization` header of poll requests; never logged. */
  token: string
  /**
   * When the token expires, ms since the epoch (as `Date.now()`). Without it the client renews only
   * when the server's `auth_ok` names an expiry, or after the server refused the token.
   */
  expiresAt?: number
}

export interface AuthOptions {
  /**
   * Called for a token when the connection has none, when its renewal time has come, and after
   * the server refused one. One call at a time: everything that needs a token meanwhile waits for
   * the same call. A call that throws, rejects or gives no `{ token: string }` is an `auth` error,
   * and the client tries again on the backoff schedule.
   */
  getToken: () => AuthToken | Promise<AuthToken>
  /**
   * Renew this many ms before `expiresAt` (or before the `expires` of the server's `auth_ok`, if
   * sooner). A token that lives less than twice this long is renewed halfway through its life.
   * @default 60000
   */
  refreshBefore?: number
}

export interface ReconnectOptions {
  /** @default 1000 */
  minDelay?: number
  /** @default 16000 */
  maxDelay?: number
  /** @default 2 */
  factor?: number
  /** Each delay lies within ±jitter of its step (0.2 = ±20%). @default 0.2 */
  jitter?: number
  /** Failed WebSocket attempts in a row before falling back to polling (needs `pollUrl`). @default 5 */
  maxAttempts?: number
  /** How long an attempt may take to open and get `welcome`, ms. @default 10000 */
  connectTimeout?: number
}

export interface HeartbeatOptions {
  /** Ping every this many ms (or the server's `welcome.heartbeat` if smaller). @default 30000 */
  interval?: number
  /** With no frame at all this long after a ping, the link is dead. @default 10000 */
  timeout?: number
}

export interface PollingOptions {
  /** Delay between polls when not long-polling, ms. @default 30000 */
  interval?: number
  /** Long-poll: ask the server to hold each request up to this many ms. 0 = plain polling. @default 0 */
  wait?: number
  /** While polling, try WebSocket again this often, ms. @default 60000 */
  upgradeInterval?: number
}

export interface ReplayOptions {
  /** How long a hole may stay open before a `resync`, ms. @default 5000 */
  timeout?: number
  /** Events held past a hole before the hole is given up. @default 1000 */
  maxBuffer?: number
}

export interface ThrottleOptions {
  /** Deliver at most one event per this many ms: the latest, on the trailing edge. */
  throttle?: number
}

export interface ClientOptions<S extends EventSchemas = EventSchemas> {
  /** WebSocket URL, or a function returning one before every attempt. */
  url: UrlSource
  /** HTTP polling endpoint; enables the fallback. */
  pollUrl?: UrlSource
  /**
   * Credentials renewed on a live link, without reconnecting. The token goes in `hello`, and is
   * renewed with an `auth` message `refreshBefore` ms before `expiresAt`; while polling it goes in
   * an `Authorization: Bearer` header. A server that refuses a token (4001, HTTP 401/403) gets a
   * fresh one on the next attempt. Deduplicated handles share one token: the first handle's `auth`
   * is used. See the README, "Authentication".
   */
  auth?: AuthOptions
  /** Per-event schemas (zod or any Standard Schema): data is validated and typed. */
  events?: S
  /** Patterns this handle subscribes to from the start. No pattern at all on a connection = every event. */
  subscribe?: readonly string[]
  reconnect?: ReconnectOptions
  heartbeat?: HeartbeatOptions
  /** HTTP fallback settings, or `false` to never poll. */
  polling?: PollingOptions | false
  replay?: ReplayOptions
  /** Share one connection between handles with the same `url` and `dedupeKey`. @default true */
  dedupe?: boolean
  /** Handles with different keys never share a connection. */
  dedupeKey?: string
  /**
   * `'session'`: resume across a page reload. The session id and the last seq delivered are kept in
   * the tab's `sessionStorage` when the page is left (and when the connection closes), never per
   * event, and are taken back when a connection starts: its first `hello` resumes the session, so a
   * reload within the server's session lifetime misses nothing. A session the server no longer
   * knows gives one `resync` (`new_session`). The record is named after the `url` without its query
   * string, fragment and user info (no token is stored) and `dedupeKey`; a function `url` counts as
   * `''`, so two persisting connections with function urls need distinct `dedupeKey`s. Storage that
   * is missing or throws means nothing is kept. See the README, "Resume across a reload".
   */
  persist?: 'session'
  /**
   * Share one connection between the tabs of this origin that use the same `url` (without its
   * query string) and `dedupeKey`: one tab (the leader, elected with a Web Lock) holds the socket
   * and relays to the others over a `BroadcastChannel`; when it closes or stops answering, another
   * tab resumes the same session. Each tab's handles behave as with a connection of their own.
   * Without Web Locks or `BroadcastChannel`, each tab connects on its own. See the README,
   * "One connection per browser".
   * @default false
   */
  shareAcrossTabs?: boolean
  /** Connect on construction. @default true */
  autoConnect?: boolean
  /** Largest frame accepted, bytes; larger ones become `error` events. @default 1048576 */
  maxMessageBytes?: number
  /** The wire protocol. @default v1Protocol */
  protocol?: Protocol
  /** Debug output; tokens and query strings are never printed. */
  logger?: Logger
  /**
   * On a page served over `https:`, the client refuses a `ws:` (or `http:`) `url` and an `http:`
   * `pollUrl`: a token in them would travel in clear text. It reports a `config` error and stops
   * (status `closed`) before opening anything. `true` lets such URLs through (a local test set-up).
   * Checked for every URL the client resolves; outside a browser (no `location`) nothing is checked.
   * @default false
   */
  allowInsecure?: boolean
  WebSocket?: WebSocketConstructor
  fetch?: typeof globalThis.fetch
}
