/**
 * One link to the server, shared by every deduplicated handle: it chooses the transport
 * (WebSocket, or HTTP polling as the fallback), runs the reconnect policy by close code, keeps the
 * session's continuity through the sequencer, and fans events out to the handles. The wire format
 * stays behind `config.protocol`; the behaviours live in their own modules (backoff, heartbeat,
 * sequence, subscriptions, transports) and this file only wires them together.
 */
import { Backoff } from './backoff.js'
import { RealtimeError, type RealtimeErrorCode, type RealtimeErrorDetails } from './errors.js'
import { type ConnectionSink, Handles } from './handles.js'
import { Heartbeat } from './heartbeat.js'
import { watchBrowser } from './lifecycle.js'
import { redactUrl } from './logger.js'
import { type ConnectionConfig, DEFAULTS, resolveUrl } from './options.js'
import { persistSession } from './persist.js'
import type { Capabilities, Inbound, InboundEvent, Outbound, PollQuery, PollResult, WireEvent } from './protocol/types.js'
import { Sequencer } from './sequence.js'
import { Subscriptions } from './subscriptions.js'
import { Poller } from './transport/polling.js'
import { Refetcher } from './transport/refetch.js'
import { WebSocketTransport } from './transport/websocket.js'
import type { AuthOptions, ResyncInfo, Stats, Status, UrlSource, WebSocketConstructor } from './types.js'

export type { ConnectionSink, SinkMessages } from './handles.js'

/** Close codes with a meaning of their own (PROTOCOL.md). */
const UNAUTHORIZED = 4001
const OVER_CAPACITY = 4008
const PROTOCOL_ERROR = 4400
/** The client's own close code for a link it gave up on (heartbeat or welcome timeout). */
const LINK_DEAD = 4000
/** 4001s in a row, with no `welcome` between them, before the client stops. */
const MAX_AUTH_FAILURES = 3
/** Acks held while the link is down, at most. */
const MAX_PENDING_ACKS = 1000

const encoder = /* @__PURE__ */ new TextEncoder()

/** Counters at zero: a new link's, and what a handle without one reports. */
export const newStats = (sequenced = true): Stats => ({ messages: 0, duplicates: 0, gaps: 0, replayed: 0, resyncs: 0, reconnects: 0, rtt: null, transport: null, sequenced })

export class Connection {
  status: Status = 'idle'
  readonly stats: Stats
  readonly #handles = new Handles()
  readonly #subs = new Subscriptions()
  readonly #seq: Sequencer
  readonly #heartbeat: Heartbeat
  readonly #backoff: Backoff
  readonly #WebSocketClass: WebSocketConstructor | undefined
  #ws: WebSocketTransport | undefined
  #poller: Poller | undefined
  /** Fetches the state after a `changed` message (servers that only notify). */
  #refetcher: Refetcher | undefined
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #welcomeTimer: ReturnType<typeof setTimeout> | undefined
  #stableTimer: ReturnType<typeof setTimeout> | undefined
  #probeTimer: ReturnType<typeof setTimeout> | undefined
  #unwatch: (() => void) | undefined
  /** With `persist`: writes the session's record and stops watching the page. */
  #unpersist: (() => void) | undefined
  /** Bumped by every attempt and by shutdown: a stale async step finds it changed and quits. */
  #attemptId = 0
  /** A socket attempt is under way (URL resolving, opening, or waiting for `welcome`). */
  #attempting = false
  /** The current socket got its `welcome`. */
  #welcomed = false
  /**
   * Open by `handshake: 'none'`, but the server has not said a word yet: a close now (a refused
   * token, say) counts as a failed attempt, so a server that takes sockets only to close them is
   * retried on the backoff schedule and, after three 4001s, given up on.
   */
  #unproven = false
  /** The current attempt is an upgrade probe made while polling. */
  #probing = false
  /** The link was lost since it last worked: the next success counts as a reconnect. */
  #lost = false
  #failures = 0
  #authFailures = 0
  /**
   * A 4001 may be retried at once (for a fresh token) once per stable link: a server that answers
   * every `welcome` with a 4001 then gets retries on the backoff schedule, not one per round trip.
   */
  #quickRetry = true
  #refreshWanted = false
  #pendingAcks: number[] = []
  /** The patterns the current socket's `hello` carried. */
  #helloEvents: string[] = []
  /** The token `auth.getToken` gave (none without `auth`), and when to renew it, ms since the epoch. */
  #token: string | undefined
  #renewAt = 0
  /** The `getToken` call under way: whatever needs a token meanwhile shares it. */
  #tokenCall: Promise<string> | undefined
  /** Renews the token on a live socket. */
  #renewTimer: ReturnType<typeof setTimeout> | undefined

  readonly #config: ConnectionConfig
  readonly #caps: Capabilities
  /** Without seq: events counted in arrival order over the connection's life (their `meta.seq`). */
  #arrivals = 0
  /** Without seq: this connection's own name for its session (a tab that relays it tells connections apart by it). */
  readonly #localSession = Math.random().toString(36).slice(2)
  readonly #onClosed: () => void
  /** Acks come from `ack()` (the tab that delivered the event), not on delivery. */
  readonly #ackByCaller: boolean

  /** `ackByCaller`: the link only relays events (a leader tab); whoever delivers them calls `ack()`. */
  constructor(config: ConnectionConfig, onClosed: () => void, ackByCaller = false) {
    this.#config = config
    this.#caps = config.protocol.capabilities
    this.stats = newStats(this.#caps.seq)
    this.#onClosed = onClosed
    this.#ackByCaller = ackByCaller
    this.#backoff = new Backoff(config.reconnect)
    this.#WebSocketClass = config.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined)
    this.#seq = new Sequencer(
      {
        deliver: (e) => this.#deliver(e),
        duplicate: (e) => e.ack && this.#ack(e.seq),
        requestReplay: (after) => (this.#poller?.active ? this.#poller.now() : this.#sendSocket({ type: 'replay', after })),
        resync: (info) => {
          this.#log(`resync ${info.reason} from ${info.from}`)
          this.#handles.tell('resync', info)
        },
      },
      config.replay,
      this.stats,
    )
    this.#heartbeat = new Heartbeat({
      ping: (id) => this.#sendSocket({ type: 'ping', id }),
      dead: () => this.#drop('heartbeat timeout'),
      rtt: (ms) => (this.stats.rtt = ms),
    })
  }

  get closed(): boolean {
    return this.status === 'closed'
  }

  /** The session this link belongs to; null before the first `welcome`. */
  get session(): string | null {
    return this.#caps.seq ? this.#seq.session : this.#localSession
  }

  /** Resume `session` after seq `last` at the first attempt (a link that continues another one's session). Call before `attach`. */
  resumeFrom(session: string, last: number): void {
    this.#seq.session = session
    this.#seq.last = last
  }

  attach(sink: ConnectionSink): void {
    this.#handles.add(sink)
    // A fresh link starts at once (its status reaches this sink from there); reporting `idle`
    // first would flash `closed → idle → connecting` on a handle that connects again.
    if (this.status === 'idle') this.#start()
    else sink('status', this.status)
  }

  /** A handle starts or stops listening to event `name` (`'*'`: every event). */
  route(sink: ConnectionSink, name: string, on: boolean): void {
    this.#handles.route(sink, name, on)
  }

  /** A handle lets go of its patterns and leaves; the link closes with the last one (sending no `unsubscribe` then). */
  detach(sink: ConnectionSink, patterns: Iterable<readonly string[]>, names: Iterable<string>): void {
    this.#handles.remove(sink, names)
    if (this.#handles.size === 0) return this.#shutdown()
    for (const p of patterns) this.unsubscribe(p)
  }

  subscribe(patterns: readonly string[]): void {
    const added = this.#subs.add(patterns)
    if (added.length > 0) this.#send({ type: 'subscribe', events: added, all: this.#subs.list() })
  }

  unsubscribe(patterns: readonly string[]): void {
    const removed = this.#subs.remove(patterns)
    if (removed.length > 0) this.#send({ type: 'unsubscribe', events: removed, all: this.#subs.list() })
  }

  /** Acknowledge an event delivered elsewhere (with `ackByCaller`); held while the link is down. */
  ack(seq: number): void {
    if (!this.closed) this.#ack(seq)
  }

  /**
   * Ask the server for the current state again; while polling, also poll now. A server without a
   * `refresh` message but with an HTTP side (one that only notifies) is asked by a refetch.
   */
  refresh(): void {
    if (this.#poller?.active) {
      this.#send({ type: 'refresh' })
      this.#poller.now()
    } else if (!this.#welcomed) this.#refreshWanted = true
    else if (!this.#sendSocket({ type: 'refresh' }) && this.#config.protocol.http && this.#config.pollUrl !== undefined) this.#refetch()
  }

  /** Drop the socket and try again at once (e.g. after the `url` function changed). */
  reconnect(): void {
    if (this.closed || this.status === 'idle') return
    this.#ws?.close(1000, 'reconnect')
    if (this.#welcomed) {
      // the session's socket is gone: no longer `open` until the next `welcome`, which counts as a reconnect
      this.#welcomed = false
      this.#lost = true
      this.stats.transport = null
      this.#setStatus('reconnecting')
    }
    this.#attempting = false
    this.#resetLink()
    void this.#attempt(this.#poller?.active === true)
  }

  // ---- life cycle ----

  #start(): void {
    this.#setStatus('connecting')
    this.#unwatch = watchBrowser(() => this.#wake())
    // before the first attempt: its `hello` (or poll) resumes the session of a page reloaded in this tab
    if (this.#config.persistKey !== undefined && this.#caps.seq) this.#unpersist = persistSession(this.#config.persistKey, this.#seq)
    if (this.#WebSocketClass) void this.#attempt(false)
    else if (!this.#startPolling()) this.#fail('transport', 'no WebSocket available and no pollUrl to fall back to')
  }

  /** Close for good: every timer, listener, socket and request is released. */
  #shutdown(): void {
    if (this.closed) return
    this.#attemptId++
    this.#attempting = false
    this.#resetLink()
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#probeTimer)
    this.#ws?.close(1000, 'client closed')
    this.#poller?.stop()
    this.#stopRefetch()
    this.#unwatch?.()
    this.#unwatch = undefined
    this.#unpersist?.()
    this.#seq.reset()
    this.#pendingAcks = []
    this.#setStatus('closed')
    this.#onClosed()
  }

  #fail(code: RealtimeErrorCode, message: string): void {
    this.#error(code, message)
    this.#shutdown()
  }

  /** The server refused the credentials (4001, HTTP 401/403); true when that was once too often and the client stopped. */
  #refused(): boolean {
    // the token was refused: the next attempt or request asks `getToken` for a fresh one
    this.#renewAt = 0
    if (++this.#authFailures < MAX_AUTH_FAILURES) return false
    this.#fail('unauthorized', `the server refused the credentials ${MAX_AUTH_FAILURES} times in a row`)
    return true
  }

  /** Something says the link deserves a look now (network back, page visible). */
  #wake(): void {
    if (this.status === 'open') {
      this.#heartbeat.probe()
      // a link the probe found dead is tried again now, not after a backoff step
      if (this.status === 'open') return
    }
    if (this.#poller?.active) {
      this.#poller.now()
      if (!this.#attempting && this.#WebSocketClass) void this.#attempt(true)
    } else if (this.status === 'reconnecting' && !this.#attempting) void this.#attempt(false)
  }

  // ---- WebSocket attempts ----

  async #attempt(probe: boolean): Promise<void> {
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#probeTimer)
    const id = ++this.#attemptId
    this.#attempting = true
    this.#probing = probe
    this.#welcomed = false
    let url: string
    try {
      if (this.#config.auth) await this.#credentials()
      const resolved: unknown = await this.#resolve(this.#config.url, 'url')
      if (typeof resolved !== 'string') throw new TypeError(`expected a string, got ${typeof resolved}`)
      url = this.#config.protocol.socketUrl?.(resolved, { token: this.#token }) ?? resolved
    } catch (cause) {
      if (id !== this.#attemptId) return
      // a failed `getToken` is an `auth` error, reported already
      if (cause instanceof RealtimeError) return this.#socketClosed(LINK_DEAD, 'no token')
      this.#error('transport', 'the url function failed', { cause })
      return this.#socketClosed(LINK_DEAD, 'url function failed')
    }
    if (id !== this.#attemptId || !this.#WebSocketClass) return
    this.#log(`connecting to ${redactUrl(url)}${probe ? ' (upgrade probe)' : ''}`)
    this.#welcomeTimer = setTimeout(() => this.#drop('no welcome'), this.#config.reconnect.connectTimeout)
    try {
      this.#ws ??= new WebSocketTransport(
        this.#WebSocketClass,
        {
          open: () => this.#onOpen(),
          message: (data) => this.#onFrame(data),
          close: (code, reason, cause) => {
            if (cause !== undefined) this.#error('transport', 'could not open a WebSocket', { cause })
            this.#socketClosed(code, reason)
          },
        },
        this.#config.reconnect.connectTimeout,
      )
      this.#ws.open(url)
    } catch (cause) {
      this.#error('transport', 'could not open a WebSocket', { cause })
      this.#socketClosed(LINK_DEAD, 'open failed')
    }
  }

  /**
   * Resolve `source` (the `url` or `pollUrl` option). A clear-text URL (`ws:`, `http:`) on a page
   * served over https, without `allowInsecure`, would carry a token readable on the network: it is
   * refused with a `config` error, and the client stops before anything is opened (the caller, its
   * attempt ended by the stop, drops the rejection unreported). Outside a browser there is no
   * `location` (or, in some runtimes, reading it throws): nothing to check.
   */
  async #resolve(source: UrlSource, option: string): Promise<string> {
    const url = await resolveUrl(source)
    let refused = false
    try {
      refused = !this.#config.allowInsecure && /^\s*(ws|http):/i.test(url) && location.protocol === 'https:'
    } catch {
      // no page to check against
    }
    if (!refused) return url
    // once: a poll and an upgrade probe may both resolve a URL at the same time
    if (!this.closed) this.#fail('config', `refused the insecure ${option} ${redactUrl(url)} on an https page (see allowInsecure)`)
    throw new Error('refused')
  }

  /** The socket is open: greet the server, or wait for its greeting, or be open already (`capabilities.handshake`). */
  #onOpen(): void {
    const { handshake } = this.#caps
    this.#helloEvents = handshake === 'hello' ? this.#subs.list() : []
    if (handshake === 'hello') this.#sendSocket({ type: 'hello', session: this.#seq.session, after: this.#seq.last, events: this.#helloEvents, token: this.#token })
    else if (handshake === 'none') this.#onWelcome(this.#localSession, false, 0, undefined)
  }

  /** Patterns that changed after `hello` left (they were held back until `welcome`): send the difference. */
  #reconcile(): void {
    const sent = new Set(this.#helloEvents)
    const now = this.#subs.list()
    const added = now.filter((p) => !sent.delete(p))
    if (added.length > 0) this.#sendSocket({ type: 'subscribe', events: added, all: now })
    if (sent.size > 0) this.#sendSocket({ type: 'unsubscribe', events: [...sent], all: now })
  }

  /** Give up on a socket that stopped answering (half-open link, no `welcome`). */
  #drop(reason: string): void {
    this.#ws?.close(LINK_DEAD, reason)
    this.#socketClosed(LINK_DEAD, reason)
  }

  /** Stop what belongs to one live socket. */
  #resetLink(): void {
    clearTimeout(this.#welcomeTimer)
    clearTimeout(this.#stableTimer)
    clearTimeout(this.#renewTimer)
    this.#heartbeat.stop()
    this.#seq.stop()
    this.#stopRefetch()
  }

  #socketClosed(code: number, reason: string): void {
    if (this.closed) return
    const welcomed = this.#welcomed
    this.#attempting = this.#welcomed = false
    this.#resetLink()
    this.#log(`socket closed (${code}${reason ? ` ${reason}` : ''})`)
    if (this.#probing) {
      this.#probing = false
      if (!welcomed) return this.#scheduleProbe()
    }
    if (welcomed) {
      this.#lost = true
      this.stats.transport = null
    }
    if (!welcomed || this.#unproven) this.#failures++
    this.#unproven = false
    let delay: number
    if (code === UNAUTHORIZED) {
      if (this.#refused()) return
      delay = this.#authFailures === 1 && this.#quickRetry ? 0 : this.#backoff.next()
      this.#quickRetry = false
    } else if (code === OVER_CAPACITY) delay = this.#backoff.max()
    else {
      if (code === PROTOCOL_ERROR) this.#error('protocol', `the server reported a protocol error (4400)${reason ? `: ${reason}` : ''}`)
      delay = this.#backoff.next()
    }
    if (this.#failures >= this.#config.reconnect.maxAttempts && this.#startPolling()) return
    this.#setStatus('reconnecting')
    this.#log(`next attempt in ${delay} ms`)
    this.#retryTimer = setTimeout(() => void this.#attempt(false), delay)
  }

  // ---- inbound ----

  #onFrame(data: unknown): void {
    this.#heartbeat.seen()
    if (this.#unproven) this.#proven()
    if (typeof data !== 'string') return this.#error('invalid_message', 'binary frames are not supported')
    const max = this.#config.maxMessageBytes
    if (data.length * 3 > max) {
      const bytes = data.length > max ? data.length : encoder.encode(data).length
      if (bytes > max) return this.#error('invalid_message', `frame of ${bytes} bytes is over maxMessageBytes (${max})`)
    }
    const m = this.#config.protocol.decode(data)
    if (m !== null) this.#handle(m)
  }

  #handle(m: Inbound): void {
    switch (m.type) {
      case 'invalid':
        this.#error('invalid_message', m.error)
        return m.value && this.#handle(m.value)
      case 'event':
        if (!this.#welcomed) return this.#error('invalid_message', `event ${m.seq === undefined ? JSON.stringify(m.event) : `seq ${m.seq}`} arrived before welcome; dropped`)
        return this.#onEvent(m)
      case 'changed':
        return this.#refetch()
      case 'welcome':
        return this.#onWelcome(m.session, m.resumed, m.seq, m.heartbeat)
      case 'replay_failed':
        return this.#seq.replayFailed(m.seq)
      case 'ping':
        this.#sendSocket({ type: 'pong', id: m.id })
        return
      case 'pong':
        return this.#heartbeat.pong(m.id)
      case 'error':
        return this.#error('server', m.message, { serverCode: m.code })
      case 'auth_ok':
        // the server may end the credentials sooner than `expiresAt` said
        if (m.expires !== undefined && this.#config.auth) this.#renewAt = Math.min(this.#renewAt, this.#renewTime(m.expires))
        return this.#scheduleRenewal()
    }
  }

  #onWelcome(session: string, resumed: boolean, seq: number, heartbeat: number | undefined): void {
    clearTimeout(this.#welcomeTimer)
    this.#welcomed = true
    this.#attempting = this.#probing = false
    if (this.#caps.handshake === 'none') this.#unproven = true
    else this.#proven()
    let unsent: Outbound[] = []
    if (this.#poller?.active) {
      unsent = this.#poller.stop()
      clearTimeout(this.#probeTimer)
    } else if (this.#lost) this.stats.reconnects++
    this.#lost = false
    this.stats.transport = 'websocket'
    this.#stableTimer = setTimeout(() => {
      this.#proven()
      this.#backoff.reset()
      this.#quickRetry = true
    }, DEFAULTS.stableAfter)
    const { interval, timeout } = this.#config.heartbeat
    const every = Math.min(interval || Infinity, heartbeat ?? Infinity)
    if (every !== Infinity) this.#heartbeat.start(every, timeout, !this.#caps.ping)
    this.#scheduleRenewal()
    this.#setStatus('open')
    this.#reconcile()
    // acks and a refresh that the last POST may not have carried (subscriptions went with `hello`)
    for (const m of unsent) if (m.type === 'ack' || m.type === 'refresh') this.#sendSocket(m)
    if (this.#caps.seq) {
      this.#dropStaleAcks(session, resumed)
      this.#seq.begin(session, resumed, seq, true)
    } else {
      this.#unsequenced()
      // what the server sent while there was no link is lost: where it has an HTTP side, its state is fetched
      if (this.#config.protocol.http && this.#config.pollUrl !== undefined) this.#refetch()
    }
    this.#flushPending()
  }

  /** The server accepted the link: the failures in a row are over. */
  #proven(): void {
    this.#unproven = false
    this.#failures = this.#authFailures = 0
  }

  /**
   * A link came up on a protocol without seq: what the server sent while there was none is lost,
   * and nothing says how much. After the first, each one is a `resync` (the app refetches).
   */
  #unsequenced(): void {
    if (this.#seq.session === null) {
      this.#seq.session = this.#localSession
      return
    }
    this.stats.resyncs++
    this.#handles.tell('resync', { reason: 'new_session', from: this.#arrivals + 1, to: null, missed: null })
  }

  /** An event off the wire: in seq order through the sequencer, or as it came without seq. */
  #onEvent(m: WireEvent): void {
    if (this.#caps.seq) {
      if (m.seq === undefined) return this.#error('invalid_message', `event "${m.event}" has no seq; dropped`)
      return this.#seq.push(m as InboundEvent)
    }
    // numbered as delivered: `meta.seq` counts what the app got
    if (this.#wanted(m.event)) this.#emit({ ...m, seq: ++this.#arrivals, ack: false })
  }

  /** A server that does not filter by the patterns: the client does. */
  #wanted(name: string): boolean {
    return this.#caps.filter || this.#subs.matches(name)
  }

  #emit(event: InboundEvent): void {
    this.stats.messages++
    this.#handles.event(event)
  }

  /** To the handles listening to the event by name, then to those listening to every event. */
  #deliver(event: InboundEvent): void {
    if (this.closed) return
    const wanted = this.#wanted(event.event)
    if (wanted) this.#emit(event)
    // also for an event the client filtered out (which no caller gets to ack): the server is owed the ack
    if (event.ack && (!this.#ackByCaller || !wanted)) this.#ack(event.seq)
  }

  #ack(seq: number): void {
    if (this.#send({ type: 'ack', seq })) return
    if (this.#pendingAcks.length >= MAX_PENDING_ACKS) {
      this.#pendingAcks.shift()
      this.#error('overflow', `more than ${MAX_PENDING_ACKS} acks waiting for a link: the oldest was dropped`)
    }
    this.#pendingAcks.push(seq)
  }

  /** Acks held for a session that did not resume are void: their seqs would name the new session's events. */
  #dropStaleAcks(session: string, resumed: boolean): void {
    if (!resumed || session !== this.#seq.session) this.#pendingAcks = []
  }

  /** What had to wait for a link: acks of events delivered meanwhile, a `refresh()`. */
  #flushPending(): void {
    const acks = this.#pendingAcks
    this.#pendingAcks = []
    for (const seq of acks) this.#ack(seq)
    if (this.#refreshWanted) {
      this.#refreshWanted = false
      this.refresh()
    }
  }

  // ---- HTTP polling ----

  /** Fall back to polling; false when there is no `pollUrl` (or polling is off). */
  #startPolling(): boolean {
    const poller = this.#config.polling !== false && this.#http()
    if (!poller) return false
    this.#log('falling back to HTTP polling')
    poller.start()
    this.#setStatus('polling')
    this.#scheduleProbe()
    return true
  }

  /** The HTTP side (the poll loop, and single requests for the state), made on first use; none without a `pollUrl`, `fetch` or a protocol that has one. */
  #http(): Poller | undefined {
    const { pollUrl } = this.#config
    const fetchFn = this.#fetch()
    const http = this.#config.protocol.http
    if (this.#poller || pollUrl === undefined || !fetchFn || !http) return this.#poller
    const polling = this.#config.polling || DEFAULTS.polling
    return (this.#poller = new Poller(fetchFn, http, { ...this.#config.reconnect, ...polling, maxMessageBytes: this.#config.maxMessageBytes }, {
      query: () => this.#query(polling.wait),
      url: () => this.#resolve(pollUrl, 'pollUrl'),
      result: (r, warning, once) => (once ? this.#onState(r, warning) : this.#onPoll(r, warning)),
      // a request that failed for want of a token was reported as an `auth` error already
      error: (e) => e.cause instanceof RealtimeError || this.#report(e),
      unauthorized: () => this.#refused(),
      sessionLost: () => this.#log('poll session lost; starting over'),
    }))
  }

  /** `fetch` for polls and refetches; with `auth`, each request carries the token in a header (never in a URL, which may be logged). */
  #fetch(): typeof globalThis.fetch | undefined {
    const fetchFn = this.#config.fetch ?? globalThis.fetch
    if (typeof fetchFn !== 'function') return undefined
    const plain = fetchFn.bind(globalThis)
    if (!this.#config.auth) return plain
    return async (input, init) => plain(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${await this.#credentials()}` } })
  }

  #query(wait: number): PollQuery {
    return { session: this.#caps.seq ? this.#seq.session : null, after: this.#seq.last, events: this.#subs.list(), wait }
  }

  #onPoll(r: PollResult, warning: string | undefined): void {
    if (warning) this.#error('invalid_message', warning)
    this.#authFailures = 0
    this.stats.transport = 'polling'
    const lost = this.#lost
    if (lost) this.stats.reconnects++
    this.#lost = false
    if (!this.#caps.seq) {
      if (lost || this.#seq.session === null) this.#unsequenced()
      for (const e of r.events) this.#onEvent(e)
      return
    }
    const { session, resumed, seq } = r
    if (session === undefined || resumed === undefined || seq === undefined) return this.#error('invalid_message', 'poll answer without session, resumed and seq')
    // `seq` of a poll answer is the head after its events; the session starts before the first of them
    const first = r.events[0]?.seq
    const base = first === undefined ? seq : Math.min(first - 1, seq)
    // the same session, not resumed: its buffer no longer covers `after`; what is lost is exactly
    // known (up to `base`), as with `replay_failed` over a socket
    if (!resumed && session === this.#seq.session) this.#seq.replayFailed(base)
    else {
      this.#dropStaleAcks(session, resumed)
      this.#seq.begin(session, resumed, base, false)
    }
    for (const e of r.events) this.#onEvent(e)
    this.#flushPending()
  }

  /** The server said its state changed: fetch it (at most once per `refetchInterval`), where there is an HTTP side to ask. */
  #refetch(): void {
    const poller = this.#http()
    if (!poller) return this.#error('config', 'the server announced a change, but no pollUrl is set to fetch it')
    this.#refetcher ??= new Refetcher(this.#config.refetchInterval, () => poller.once())
    this.#refetcher.changed()
  }

  /** The answer of a refetch, over a live socket: its events, nothing about the link. */
  #onState(r: PollResult, warning: string | undefined): void {
    if (warning) this.#error('invalid_message', warning)
    for (const e of r.events) this.#onEvent(e)
  }

  #stopRefetch(): void {
    this.#refetcher?.stop()
    // a refetch under way is a request of the poller's that is not polling
    if (!this.#poller?.active) this.#poller?.stop()
  }


  /** While polling, try WebSocket again every `upgradeInterval`. */
  #scheduleProbe(): void {
    if (!this.#WebSocketClass || this.#config.polling === false || !this.#poller?.active) return
    clearTimeout(this.#probeTimer)
    this.#probeTimer = setTimeout(() => void this.#attempt(true), this.#config.polling.upgradeInterval)
  }

  // ---- outbound ----

  /**
   * Over the poll POST while polling, else over the socket once it has its `welcome`; false when
   * neither can take it. Subscription changes made before `welcome` need no frame: `welcome`
   * reconciles them with what `hello` carried.
   */
  #send(message: Outbound): boolean {
    if (this.#poller?.active) {
      this.#poller.send(message)
      return true
    }
    return this.#welcomed && this.#sendSocket(message)
  }

  /** False when the socket cannot take it, or the protocol has no such message. */
  #sendSocket(message: Outbound): boolean {
    const frame = this.#config.protocol.encode(message)
    return frame !== null && (this.#ws?.send(frame) ?? false)
  }

  // ---- credentials (`auth`) ----

  /** The token for a `hello` or a poll request: the current one until its renewal time, else a fresh one (one call at a time). */
  #credentials(): string | Promise<string> | undefined {
    const auth = this.#config.auth
    if (!auth || Date.now() < this.#renewAt) return this.#token
    return (this.#tokenCall ??= (async () => {
      try {
        // a `getToken` that throws at once must not settle this call before it is shared
        await 0
        const { token, expiresAt } = await auth.getToken()
        if (typeof token !== 'string' || !(expiresAt === undefined || Number.isFinite(expiresAt))) throw new TypeError('expected { token: string, expiresAt?: number }')
        this.#token = token
        this.#renewAt = this.#renewTime(expiresAt)
        return token
      } catch (cause) {
        // the message never quotes what getToken gave: it may hold a token
        const error = new RealtimeError('auth', 'auth.getToken failed', { cause })
        if (!this.closed) this.#report(error)
        throw error
      } finally {
        this.#tokenCall = undefined
      }
    })())
  }

  /** When to renew credentials that expire at `expires`: `refreshBefore` earlier, but not before halfway there, nor within 1 s. */
  #renewTime(expires: number | undefined): number {
    const now = Date.now()
    const left = (expires ?? Infinity) - now
    return now + Math.max(left - (this.#config.auth as Required<AuthOptions>).refreshBefore, left / 2, 1000)
  }

  /** On a live socket, renew the token when its time comes (a timer holds at most 2^31 - 1 ms: one that fires early waits again). */
  #scheduleRenewal(): void {
    clearTimeout(this.#renewTimer)
    if (this.#config.auth && this.#renewAt < Infinity) this.#renewTimer = setTimeout(() => void this.#renew(), Math.min(this.#renewAt - Date.now(), 2 ** 31 - 1))
  }

  /** Send `auth` with a fresh token over the live socket; a failed `getToken` is tried again a backoff step later. */
  async #renew(): Promise<void> {
    if (Date.now() < this.#renewAt) return this.#scheduleRenewal()
    const id = this.#attemptId
    const live = (): boolean => id === this.#attemptId && this.#welcomed
    try {
      const token = (await this.#credentials()) as string
      if (!live()) return
      this.#log('renewing credentials')
      this.#sendSocket({ type: 'auth', token })
      this.#scheduleRenewal()
    } catch {
      if (live()) this.#renewTimer = setTimeout(() => void this.#renew(), this.#backoff.next())
    }
  }

  // ---- reporting ----

  #setStatus(status: Status): void {
    if (status === this.status) return
    this.status = status
    this.#log(`status ${status}`)
    this.#handles.tell('status', status)
  }

  #error(code: RealtimeErrorCode, message: string, details?: RealtimeErrorDetails): void {
    this.#report(new RealtimeError(code, message, details))
  }

  #report(error: RealtimeError): void {
    this.#log(`error ${error.code}: ${error.message}`)
    this.#handles.tell('error', error)
  }

  #log(message: string): void {
    this.#config.logger?.debug(`[wirefeed] ${message}`)
  }
}
