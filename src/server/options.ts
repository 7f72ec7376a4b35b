/**
 * Options of `createRealtimeServer`, their defaults, and the checks that turn them into the
 * settings the server runs with. Every limit has a finite default: nothing the server keeps grows
 * without bound.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { SessionView } from './session.js'
import type { RealtimeStore } from './store.js'

/** What `authenticate` may answer: refuse (`false`), accept (`true`), or accept as a principal. */
export type AuthResult<P extends object> = boolean | P

/** An event the `snapshot` hook hands back, delivered like a published one. */
export interface SnapshotEvent {
  event: string
  data: unknown
}

export interface RealtimeServerOptions<P extends object = Record<string, unknown>> {
  /**
   * An HTTP server to attach to. The realtime server then handles WebSocket upgrades for `path`
   * and requests for `pollPath` and `statsPath` only; every other request and upgrade is left to
   * the application. Attach after the application's own `request` handler is installed (e.g.
   * `http.createServer(app)`). Without `server`, one is created and listens on `port`/`host`.
   * @default undefined (a server of its own is created)
   */
  server?: Server
  /** Port of the server created when `server` is not given; 0 picks a free port. @default 0 */
  port?: number
  /** Host the created server listens on. @default '127.0.0.1' */
  host?: string
  /** Path of the WebSocket endpoint. @default '/ws/events' */
  path?: string
  /** Path of the HTTP polling endpoint (GET polls, POST client messages); `false` disables polling. @default '/api/events' */
  pollPath?: string | false
  /** Path that serves `stats()` as JSON (no authentication: keep it internal); `false` disables it. @default '/api/stats' */
  statsPath?: string | false
  /**
   * How long a session outlives its last socket or poll, ms. A client that comes back within this
   * time resumes its session and gets what it missed. Plain polling clients must poll more often.
   * @default 120000
   */
  sessionTtl?: number
  /** Events each session keeps for replay (PROTOCOL.md asks for at least 100). @default 100 */
  replayBuffer?: number
  /**
   * Oldest event a session replays, ms; older ones count as lost (`replay_failed`).
   * @default 2 × sessionTtl, so anything a still resumable session missed is covered
   */
  replayMaxAge?: number
  /**
   * The server pings each socket this often, ms, and announces it in `welcome` (the client pings
   * at least as often). A socket that sends no frame at all for two intervals is terminated.
   * @default 30000
   */
  heartbeat?: number
  /** How long a new socket may take to send `hello`, ms; then it is closed with 4400. @default 10000 */
  helloTimeout?: number
  /** Largest client frame or poll POST body accepted, bytes (WebSocket `maxPayload`; larger POSTs get 413). @default 65536 */
  maxMessageBytes?: number
  /**
   * Frames a socket may have waiting while its writes back up (the peer does not read). A consumer
   * that falls this far behind is dropped from live delivery and closed with 4008; its session
   * keeps buffering, so it catches up through replay when it comes back. A burst to a consumer
   * that keeps up never counts against it.
   * @default 1000
   */
  maxQueue?: number
  /** Bytes a socket may have waiting to be written (`bufferedAmount`); past it, as for `maxQueue`. @default 4194304 (4 MiB) */
  maxBufferedBytes?: number
  /** Sessions kept at once; past it a new WebSocket session is closed with 4008 and a poll gets 503 with Retry-After. @default 10000 */
  maxSessions?: number
  /** Subscription patterns one session may hold; more are refused with an `error` (`limit_exceeded`). @default 100 */
  maxPatternsPerSession?: number
  /** A socket is closed with 4400 at its `maxInvalidFrames`-th invalid frame (each is answered by an `error` first). @default 3 */
  maxInvalidFrames?: number
  /**
   * Largest poll answer, bytes: events past it wait for the next poll (an answer always carries at
   * least one event). The client refuses larger answers (its `maxMessageBytes`, 1 MiB by default).
   * @default 1048576 (1 MiB)
   */
  maxPollBytes?: number
  /** Longest a poll GET is held (its `wait` is capped at this), ms. @default 25000 */
  longPollMax?: number
  /**
   * Decide whether a client may connect: `false` refuses (WebSocket close 4001, HTTP 401), `true`
   * accepts, an object accepts and becomes the session's `principal` (a numeric `expires`, ms since
   * the epoch, is sent in `auth_ok` and the socket is closed with 4001 once it passes). `token` is
   * the one the client sent in `hello` or `auth`, or, on a poll GET or POST, in an
   * `Authorization: Bearer` header (a client with the `auth` option sends both), if any; otherwise
   * read the credentials from `request` (query string, cookie). It runs on every `hello`, `auth`,
   * poll GET and POST. An `auth` it accepts replaces the socket's principal (and its `expires`).
   * A hook that throws fails the request as an internal error (1011 / 500), never as 4001.
   * @default every client is accepted
   */
  authenticate?: (request: IncomingMessage, token: string | undefined) => AuthResult<P> | Promise<AuthResult<P>>
  /**
   * Whether `session` gets this event. It runs before the session assigns a seq, so a session
   * never sees a gap for what it was not meant to get. Runs for every session whose patterns match;
   * a hook that throws counts as `false`.
   * @default every matching session gets every event
   */
  filter?: (session: SessionView<P>, event: string, data: unknown) => boolean
  /**
   * Called when a client acknowledges an event that asked for it (`publish(..., { ack: true })`).
   * `item` is the event while the session still buffers it. Acks of seqs never issued are ignored.
   * An ack may arrive more than once (a client that moves from polling to WebSocket re-sends what
   * it could not confirm), so make this idempotent.
   * @default acks are ignored
   */
  onAck?: (session: SessionView<P>, seq: number, item: SnapshotEvent | undefined) => void
  /**
   * The current state for `refresh`, as events delivered to that session only (with seqs, after its
   * patterns and `filter`). One runs at a time per session; a `refresh` that arrives meanwhile
   * runs it once more afterwards. A hook that throws is answered with an `error` (`refresh_failed`).
   * @default none: `refresh` is a no-op
   */
  snapshot?: (session: SessionView<P>) => Iterable<SnapshotEvent> | Promise<Iterable<SnapshotEvent>>
  /** Where errors thrown by hooks go, and a shared store's lost links and failed operations. @default console.error */
  onError?: (error: unknown, context: string) => void
  /**
   * Where sessions (seqs, patterns, replay buffers) live. `redisStore({ url })` keeps them in Redis,
   * shared by every instance with the same store, so a client resumes its session on any of them
   * and an event published on one reaches clients on all. With it, principals travel as JSON.
   * @default in this process
   */
  store?: RealtimeStore
}

/** The settings the server runs with: every default applied, every number checked. */
export interface Settings<P extends object> {
  path: string
  pollPath: string | false
  statsPath: string | false
  sessionTtl: number
  replayBuffer: number
  replayMaxAge: number
  heartbeat: number
  helloTimeout: number
  maxMessageBytes: number
  maxQueue: number
  maxBufferedBytes: number
  maxSessions: number
  maxPatternsPerSession: number
  maxInvalidFrames: number
  maxPollBytes: number
  longPollMax: number
  authenticate: RealtimeServerOptions<P>['authenticate']
  filter: RealtimeServerOptions<P>['filter']
  onAck: RealtimeServerOptions<P>['onAck']
  snapshot: RealtimeServerOptions<P>['snapshot']
  onError: (error: unknown, context: string) => void
  store: RealtimeStore | undefined
}

function count(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < min) throw new RangeError(`createRealtimeServer: "${name}" must be a finite number >= ${min}, got ${value}`)
  return value
}

function pathOption(name: string, value: string | false | undefined, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false) return false
  if (typeof value !== 'string' || !value.startsWith('/')) throw new TypeError(`createRealtimeServer: "${name}" must be a path starting with "/"`)
  return value
}

/** Apply defaults and check every option; throws a TypeError/RangeError for a mistake in code. */
export function toSettings<P extends object>(o: RealtimeServerOptions<P>): Settings<P> {
  const sessionTtl = count('sessionTtl', o.sessionTtl, 120_000)
  const path = pathOption('path', o.path, '/ws/events')
  if (path === false) throw new TypeError('createRealtimeServer: "path" cannot be false')
  return {
    path,
    pollPath: pathOption('pollPath', o.pollPath, '/api/events'),
    statsPath: pathOption('statsPath', o.statsPath, '/api/stats'),
    sessionTtl,
    replayBuffer: count('replayBuffer', o.replayBuffer, 100),
    replayMaxAge: count('replayMaxAge', o.replayMaxAge, 2 * sessionTtl),
    heartbeat: count('heartbeat', o.heartbeat, 30_000),
    helloTimeout: count('helloTimeout', o.helloTimeout, 10_000),
    maxMessageBytes: count('maxMessageBytes', o.maxMessageBytes, 64 * 1024, 64),
    maxQueue: count('maxQueue', o.maxQueue, 1000),
    maxBufferedBytes: count('maxBufferedBytes', o.maxBufferedBytes, 4 * 1024 * 1024),
    maxSessions: count('maxSessions', o.maxSessions, 10_000),
    maxPatternsPerSession: count('maxPatternsPerSession', o.maxPatternsPerSession, 100),
    maxInvalidFrames: count('maxInvalidFrames', o.maxInvalidFrames, 3),
    maxPollBytes: count('maxPollBytes', o.maxPollBytes, 1024 * 1024, 256),
    longPollMax: count('longPollMax', o.longPollMax, 25_000, 0),
    authenticate: o.authenticate,
    filter: o.filter,
    onAck: o.onAck,
    snapshot: o.snapshot,
    onError: o.onError ?? ((error, context) => console.error(`[wirefeed/server] ${context}:`, error)),
    store: o.store,
  }
}
