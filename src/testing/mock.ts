/**
 * The server side of wire protocol v1 as msw handlers: sessions with their own seq counter and
 * replay buffer, subscription patterns, WebSocket (`ws.link`) and HTTP polling (`http` GET/POST)
 * sharing the same sessions, plus the controls a test needs to make the server misbehave on
 * purpose. See `index.ts` for the overview and an example.
 *
 * Only `msw` (never `msw/node` or `msw/browser`) and the package's own protocol modules are
 * imported, and nothing runs at import time, so the module loads in Node, in a browser page and
 * during server-side rendering alike.
 */
import { http, type HttpHandler, HttpResponse, type WebSocketData, type WebSocketHandler, type WebSocketHandlerConnection, type WebSocketLink, ws } from 'msw'
import { matchPattern } from '../patterns.js'

/** Any message on the wire, parsed: a JSON object with a string `type` (other fields as sent). */
export type WireMessage = { type: string } & Record<string, unknown>

/**
 * A client message as the mock recorded it. The mock records before it judges, so a message
 * of a known type may still lack fields or carry fields of the wrong type.
 */
export type ClientMessage = WireMessage

/** A message the mock sent to a client, parsed back from the JSON it sent. */
export type ServerMessage = WireMessage

/** An `event` frame as the mock sends it (the wire type of the v1 schemas). */
export interface EventFrame {
  type: 'event'
  /** Exactly one more than the previous event of the same session. */
  seq: number
  /** The event name, e.g. `alert` or `incident.created`. */
  event: string
  /** The payload as given to `publish`. */
  data?: unknown
  /** Timestamp in ms, when `publish` was given one. */
  ts?: number
  /** `true` asks the client to send an `ack` for this seq. */
  ack?: boolean
}

/** One client session as the mock keeps it. It outlives its sockets, so a client can resume it. */
export interface MockSession {
  /** The session id sent in `welcome` (`s-1`, `s-2`, ... in the order sessions were created). */
  readonly id: string
  /** The last seq issued in this session. */
  readonly seq: number
  /** The subscription set; empty means every event. */
  readonly patterns: readonly string[]
  /** The last `bufferSize` events issued in this session, oldest first: what can be replayed. */
  readonly buffer: readonly EventFrame[]
  /** Seqs the client acknowledged, in the order the acks arrived (repeats included). */
  readonly acks: readonly number[]
}

/** Options of {@link createRealtimeMock}. */
export interface RealtimeMockOptions {
  /**
   * The WebSocket URL the client connects to, as msw's `ws.link` matches it (a string with
   * optional `*` wildcards and `:params`, or a RegExp). The query string is ignored, so a URL that
   * carries a token still matches.
   */
  url: string | RegExp
  /**
   * The HTTP polling endpoint (GET and POST), as msw's `http` handlers match it. Without it the mock
   * serves WebSocket only, and a client that falls back to polling gets msw's unhandled-request
   * behaviour.
   */
  pollUrl?: string | RegExp
  /**
   * `welcome.heartbeat` in ms: how often the server wants to hear from the client. Omitted from
   * `welcome` when undefined. Can be changed later through {@link RealtimeMock.heartbeat}.
   * @default undefined
   */
  heartbeat?: number
  /**
   * Events kept per session for replay. A client that resumes after missing more than this gets
   * `replay_failed` over WebSocket, or a fresh start (`resumed: false`) over polling.
   * @default 100
   */
  bufferSize?: number
}

/** Options of {@link RealtimeMock.publish}. */
export interface PublishOptions {
  /** Ask the client to acknowledge the event (`"ack": true` on the frame). */
  ack?: boolean
  /** The event's `ts` (ms). Omitted from the frame when undefined. */
  ts?: number
  /**
   * `false` issues the seq and buffers the event but sends it nowhere, as if the frame were lost:
   * the client notices the hole at the next event and asks for a `replay`.
   * @default true
   */
  deliver?: boolean
}

/** How the mock turns a WebSocket away (see {@link RealtimeMock.refuseWebSocket}). */
export interface Refusal {
  /** Close code. @default 1006 */
  code?: number
  /** Close reason. */
  reason?: string
  /**
   * `'connect'`: close at once, before any frame; `'hello'`: read the client's `hello` (it is
   * recorded in `received`), then close.
   * @default 'connect'
   */
  on?: 'connect' | 'hello'
}

/** One poll GET, as the mock read its query string. */
export interface PollRecord {
  /** `session` from the query, or null when the client has no session yet. */
  session: string | null
  /** `after` from the query, or null when absent. */
  after: number | null
  /** The pattern set from `events` (empty: every event). */
  events: string[]
  /** `wait` in ms (long polling); 0 when absent. */
  wait: number
  /** `Date.now()` when the request arrived. */
  at: number
}

/** One poll POST body. */
export interface PostRecord {
  session: string
  messages: ClientMessage[]
}

/** Options of {@link RealtimeMock.waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms and reject with an Error. @default 2000 */
  timeout?: number
  /** Also check this often, in ms, besides after everything the mock sees or does. @default 10 */
  interval?: number
}

/** Options of {@link RealtimeMock.failPolls}. */
export interface FailPollsOptions {
  /** How many consecutive poll GETs fail. @default 1 */
  times?: number
  /** Response headers, e.g. `{ 'Retry-After': '2' }`. */
  headers?: Record<string, string>
}

/**
 * A mock wirefeed server: msw handlers plus the controls and records a test needs. Created by
 * {@link createRealtimeMock}. All records are live, read-only views: they grow as things happen
 * and are emptied in place by {@link RealtimeMock.reset}.
 */
export interface RealtimeMock {
  /**
   * The msw handlers: WebSocket on `url`, and GET/POST on `pollUrl` when given. Pass them to
   * `setupServer(...mock.handlers)` (msw/node) or `setupWorker(...mock.handlers)` (msw/browser).
   */
  readonly handlers: readonly (HttpHandler | WebSocketHandler)[]
  /** msw's `ws.link` for `url`, for tests that want to add their own listeners. */
  readonly link: WebSocketLink
  /** Every session the mock knows, by id. */
  readonly sessions: ReadonlyMap<string, MockSession>

  /** WebSocket connections seen since the last reset, refused ones included. */
  readonly connections: number
  /** The URL of every WebSocket connection seen, in order (query string included). */
  readonly urls: readonly string[]
  /** Sockets open right now. */
  readonly openSockets: number
  /** Every parsed client message, over WebSocket and in poll POSTs, in the order they arrived. */
  readonly received: readonly ClientMessage[]
  /**
   * Every message the mock sent, parsed back from the JSON it sent, in order: frames on every
   * socket (`welcome`, `event`, `pong`, `replay_failed`, whatever `send` sent) and the events of
   * every poll answer. Frames swallowed by {@link goSilent}, and frames that are not a JSON object
   * with a string `type` (binary or garbage sent with `send`), are not in it.
   */
  readonly sentMessages: readonly ServerMessage[]
  /** WebSocket frames the mock could not read as a message. */
  readonly unreadable: readonly unknown[]
  /** Every poll GET, parsed. */
  readonly polls: readonly PollRecord[]
  /** Every poll POST body, whatever session it named. */
  readonly posts: readonly PostRecord[]
  /**
   * Every token a client presented, in order: `hello.token`, `auth.token`, and the
   * `Authorization: Bearer` header of poll GETs and POSTs (what a client with the `auth` option
   * sends). The mock accepts any token, unless {@link refuseAuth} says otherwise.
   */
  readonly tokens: readonly string[]
  /** The session that last said `hello` or polled (the current one, or the last one). */
  readonly session: MockSession | undefined
  /** The patterns of {@link session}, as a fresh array; `[]` before any client said `hello` or polled. */
  readonly subscriptions: string[]
  /** `welcome.heartbeat` (ms) for the next welcomes; `undefined` leaves it out. */
  heartbeat: number | undefined
  /** `expires` (ms since the epoch) of the next `auth_ok` answers; `undefined` leaves it out. */
  authExpires: number | undefined

  /** The received messages of one `type`, e.g. `messages('ack')`. */
  messages(type: string): ClientMessage[]

  /**
   * Throws an Error, naming what is missing and what is unexpected, unless the current
   * subscription set ({@link subscriptions}) holds exactly `patterns` (in any order). Also throws
   * when no client has said `hello` or polled yet. Works with any test runner.
   */
  expectSubscribed(patterns: readonly string[]): void

  /**
   * Resolves with the value of `check` once it returns something other than `undefined`, `null` or
   * `false` without throwing. `check` runs at once, after everything the mock sees or does, and
   * every `interval` ms; after `timeout` ms the promise rejects with an Error that has the last
   * error `check` threw as its `cause`. `reset()` rejects pending waits. Needs no test runner; the
   * timeout uses `setTimeout`, so under fake timers only the checks driven by the mock run.
   *
   * @example
   * const ack = await mock.waitFor(() => mock.messages('ack').find((m) => m.seq === 3))
   */
  waitFor<T>(check: () => T, options?: WaitForOptions): Promise<Exclude<T, undefined | null | false>>

  /** {@link waitFor} until {@link expectSubscribed}(`patterns`) passes; rejects with its message. */
  waitForSubscribed(patterns: readonly string[], options?: WaitForOptions): Promise<void>

  /**
   * Issue an event in every session subscribed to it (each session gets its own next seq) and send
   * it to that session's open socket or held long poll. Sessions without a connection buffer it,
   * so a client that resumes gets it. Returns the seq it got in each session, in session order.
   */
  publish(event: string, data: unknown, options?: PublishOptions): number[]

  /**
   * Send any frame to every open socket: an object is JSON-encoded, a string or binary goes as is.
   * For frames the protocol does not expect (bad JSON, unknown types, out-of-order welcomes).
   */
  send(frame: unknown): void

  /** Send the buffered events with seq `from`..`to` again, to every open socket of their session (duplicates). */
  resend(from: number, to?: number): void

  /** Keep only the last `keep` events of every session's buffer; older ones can no longer be replayed. */
  truncateBuffer(keep?: number): void

  /** Forget every session, as a restarted server would: the next `hello` or poll starts a new one. */
  forgetSessions(): void

  /** Close every open socket from the server side, with `code` (default 1006) and `reason`. */
  dropConnection(code?: number, reason?: string): void

  /**
   * Stop sending anything on the sockets open now, pongs included: a half-open link that only the
   * client's heartbeat can notice. Events published meanwhile are buffered, so the client gets them
   * when it resumes. Sockets opened later work normally.
   */
  goSilent(): void

  /**
   * Turn WebSocket away: `true` closes every new socket at once with 1006; a {@link Refusal} picks
   * the code, the reason and whether to close at connect or on `hello`. `false` accepts sockets
   * again. Sockets already open stay open. A client with a `pollUrl` falls back to polling.
   */
  refuseWebSocket(refuse?: boolean | Refusal): void

  /** Whether client pings get a `pong` (default true). Other frames still flow when false. */
  answerPings(answer: boolean): void

  /**
   * Refuse the next `times` `auth` messages (token renewals on a live socket): the socket is closed
   * with 4001 instead of being answered with `auth_ok`. A client then reconnects with a fresh token.
   */
  refuseAuth(times?: number): void

  /** Accept sockets and read `hello`, but never answer it with `welcome` (or, with `false`, answer again). */
  withholdWelcome(withhold?: boolean): void

  /** Answer the next `times` poll GETs with HTTP `status` (and `headers`), e.g. 503 with Retry-After. */
  failPolls(status: number, options?: FailPollsOptions): void

  /** Send a server `ping` with this `id` to every open socket. */
  ping(id: number | string): void

  /**
   * Back to a fresh server: open sockets closed (1001), held polls answered, sessions, records and
   * controls forgotten (session ids start again at `s-1`), pending `waitFor`s rejected. Call it
   * between tests, next to msw's `resetHandlers()`.
   */
  reset(): void
}

type WsClient = WebSocketHandlerConnection['client']

interface Session {
  readonly id: string
  seq: number
  patterns: string[]
  buffer: EventFrame[]
  acks: number[]
}

interface Socket {
  readonly client: WsClient
  session: Session | undefined
  /** Half-open: nothing the mock sends reaches the client any more. */
  silent: boolean
}

interface PollFailure {
  status: number
  headers: Record<string, string>
}

interface Waiter {
  check(): void
  fail(error: Error): void
}

/** Whether `m` is a JSON object with a string `type`. */
const isMessage = (m: unknown): m is WireMessage =>
  typeof m === 'object' && m !== null && !Array.isArray(m) && typeof (m as WireMessage).type === 'string'

/** The message in a text frame, or undefined when it is not a JSON object with a string `type`. */
const parse = (raw: unknown): WireMessage | undefined => {
  if (typeof raw !== 'string') return undefined
  try {
    const m: unknown = JSON.parse(raw)
    return isMessage(m) ? m : undefined
  } catch {
    return undefined
  }
}

/** The strings of an array (patterns from a client message); anything else gives []. */
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : [])

/** Whether a frame is binary data that goes out as is. */
const isBinary = (frame: unknown): frame is WebSocketData =>
  frame instanceof ArrayBuffer || ArrayBuffer.isView(frame) || (typeof Blob !== 'undefined' && frame instanceof Blob)

/** A pattern set for an error message. */
const describePatterns = (patterns: readonly string[]): string => (patterns.length === 0 ? '[] (every event)' : JSON.stringify(patterns))

/** `undefined` when `actual` holds exactly `expected`, else a sentence saying how they differ. */
function subscriptionMismatch(expected: readonly string[], actual: readonly string[] | undefined): string | undefined {
  if (actual === undefined) return `expected the client to be subscribed to ${describePatterns(expected)}, but no client has said hello or polled yet`
  const missing = expected.filter((p) => !actual.includes(p))
  const extra = actual.filter((p) => !expected.includes(p))
  if (missing.length === 0 && extra.length === 0) return undefined
  const parts = [missing.length > 0 ? `missing ${JSON.stringify(missing)}` : '', extra.length > 0 ? `unexpected ${JSON.stringify(extra)}` : ''].filter(Boolean)
  return `expected the client to be subscribed to ${describePatterns(expected)}, but it is subscribed to ${describePatterns(actual)} (${parts.join(', ')})`
}

/** The options of either call form, checked. */
function normalize(first: string | RegExp | RealtimeMockOptions, rest: Omit<RealtimeMockOptions, 'url'> | undefined): RealtimeMockOptions {
  const options = typeof first === 'string' || first instanceof RegExp ? { ...rest, url: first } : first
  if (typeof options !== 'object' || options === null || !(typeof options.url === 'string' || options.url instanceof RegExp)) {
    throw new TypeError('createRealtimeMock: `url` must be a string or a RegExp')
  }
  if (options.bufferSize !== undefined && !(Number.isInteger(options.bufferSize) && options.bufferSize > 0)) {
    throw new TypeError('createRealtimeMock: `bufferSize` must be a positive integer')
  }
  if (options.heartbeat !== undefined && !(options.heartbeat > 0)) throw new TypeError('createRealtimeMock: `heartbeat` must be a positive number of ms')
  return options
}

/**
 * Create a mock wirefeed server (wire protocol v1) as msw handlers plus controls.
 *
 * @example
 * const mock = createRealtimeMock({ url: 'wss://api.example.com/ws/events', pollUrl: 'https://api.example.com/api/events' })
 * const server = setupServer(...mock.handlers) // msw/node; setupWorker(...mock.handlers) in a browser
 */
export function createRealtimeMock(options: RealtimeMockOptions): RealtimeMock
/**
 * Create a mock wirefeed server (wire protocol v1) for `url`, as msw handlers plus controls.
 *
 * @example
 * const mock = createRealtimeMock('wss://api.example.com/ws/events', { pollUrl: 'https://api.example.com/api/events' })
 */
export function createRealtimeMock(url: string | RegExp, options?: Omit<RealtimeMockOptions, 'url'>): RealtimeMock
export function createRealtimeMock(first: string | RegExp | RealtimeMockOptions, rest?: Omit<RealtimeMockOptions, 'url'>): RealtimeMock {
  const options = normalize(first, rest)
  const link = ws.link(options.url)
  const bufferSize = options.bufferSize ?? 100

  const sessions = new Map<string, Session>()
  const sockets = new Set<Socket>()
  /** Long polls waiting for an event, by session. */
  const heldPolls = new Map<Session, Set<() => void>>()
  const waiters = new Set<Waiter>()
  let nextSession = 0
  let lastSession: Session | undefined
  /** Bumped by reset(): a request that straddles it belongs to an earlier test and records nothing. */
  let epoch = 0

  // Records are emptied in place, so a reference a test holds stays live across reset().
  const urls: string[] = []
  const received: ClientMessage[] = []
  const sentMessages: ServerMessage[] = []
  const unreadable: unknown[] = []
  const polls: PollRecord[] = []
  const posts: PostRecord[] = []
  const tokens: string[] = []

  const controls = {
    heartbeat: options.heartbeat,
    refusal: undefined as Refusal | undefined,
    withholdWelcome: false,
    answerPings: true,
    pollFailures: [] as PollFailure[],
    connections: 0,
    authExpires: undefined as number | undefined,
    authRefusals: 0,
  }

  /** Something happened: let pending `waitFor`s look again. */
  function changed(): void {
    for (const w of waiters) w.check()
  }

  // ---- sessions ----

  /** A new session with ids `s-1`, `s-2`, ... */
  function newSession(patterns: string[]): Session {
    const s: Session = { id: `s-${++nextSession}`, seq: 0, patterns, buffer: [], acks: [] }
    sessions.set(s.id, s)
    return s
  }

  /** Whether `s` is subscribed to `event` (an empty set wants everything). */
  const wants = (s: Session, event: string): boolean => s.patterns.length === 0 || s.patterns.some((p) => matchPattern(p, event))

  /** Whether the buffer still holds every event after `after`. */
  const covers = (s: Session, after: number): boolean => after >= s.seq || (s.buffer[0] !== undefined && s.buffer[0].seq <= after + 1)

  /** The buffered events of `s` after `after`. */
  const since = (s: Session, after: number): EventFrame[] => s.buffer.filter((e) => e.seq > after)

  /** Answer the long polls held for `s`. */
  function wake(s: Session): void {
    const list = heldPolls.get(s)
    heldPolls.delete(s)
    for (const answer of list ?? []) answer()
  }

  // ---- WebSocket ----

  /** Close from the server side. The socket is gone at once: nothing more is sent on it. */
  function close(socket: Socket, code: number, reason?: string): void {
    sockets.delete(socket)
    socket.client.close(code, reason)
    changed()
  }

  /** Send one frame on a socket the mock has not closed, unless it is silent, and record it in `sentMessages`. */
  function send(socket: Socket, frame: unknown): void {
    if (socket.silent || !sockets.has(socket)) return
    if (typeof frame === 'string' || isBinary(frame)) {
      socket.client.send(frame)
      const m = parse(frame)
      if (m) sentMessages.push(m)
    } else {
      const text = JSON.stringify(frame)
      socket.client.send(text)
      const m = parse(text)
      if (m) sentMessages.push(m)
    }
    changed()
  }

  /** Answer `replay`, or `hello` that resumes: the buffered events after `after`, or `replay_failed`. */
  function replay(socket: Socket, s: Session, after: number): void {
    if (!covers(s, after)) return send(socket, { type: 'replay_failed', after, seq: s.seq })
    for (const e of since(s, after)) send(socket, e)
  }

  /** Answer `hello`: resume the named session (and resend what follows `after`) or start a new one. */
  function hello(socket: Socket, m: ClientMessage): void {
    const refusal = controls.refusal
    if (refusal?.on === 'hello') return close(socket, refusal.code ?? 1006, refusal.reason)
    if (controls.withholdWelcome) return
    const events = strings(m.events)
    const known = typeof m.session === 'string' ? sessions.get(m.session) : undefined
    const s = known ?? newSession(events)
    s.patterns = events
    socket.session = lastSession = s
    send(socket, {
      type: 'welcome',
      v: 1,
      session: s.id,
      resumed: known !== undefined,
      seq: s.seq,
      ...(controls.heartbeat === undefined ? {} : { heartbeat: controls.heartbeat }),
    })
    if (known && typeof m.after === 'number') replay(socket, s, m.after)
  }

  /** Answer `auth` (a token renewal): `auth_ok`, or close with 4001 while {@link RealtimeMock.refuseAuth} says so. */
  function renew(socket: Socket): void {
    if (controls.authRefusals > 0) {
      controls.authRefusals--
      return close(socket, 4001, 'token refused')
    }
    const expires = controls.authExpires
    send(socket, expires === undefined ? { type: 'auth_ok' } : { type: 'auth_ok', expires })
  }

  /** Record the token of a poll request's `Authorization: Bearer` header. */
  function bearer(request: Request): void {
    const token = /^Bearer +(\S+)/i.exec(request.headers.get('authorization') ?? '')?.[1]
    if (token !== undefined) tokens.push(token)
  }

  /** What both transports do with a client message once its session is known. */
  function common(s: Session, m: ClientMessage): void {
    switch (m.type) {
      case 'subscribe':
        s.patterns = [...new Set([...s.patterns, ...strings(m.events)])]
        return
      case 'unsubscribe': {
        const gone = strings(m.events)
        s.patterns = s.patterns.filter((p) => !gone.includes(p))
        return
      }
      case 'ack':
        if (typeof m.seq === 'number') s.acks.push(m.seq)
        return
    }
  }

  /** A frame from the client: record it, then act on it. */
  function onSocketMessage(socket: Socket, raw: unknown): void {
    // closed by the mock (or forgotten by reset()): a late frame is not read
    if (!sockets.has(socket)) return
    const m = parse(raw)
    if (!m) {
      unreadable.push(raw)
      return changed()
    }
    received.push(m)
    if ((m.type === 'hello' || m.type === 'auth') && typeof m.token === 'string') tokens.push(m.token)
    if (m.type === 'hello') hello(socket, m)
    else if (m.type === 'auth') renew(socket)
    else if (m.type === 'ping') {
      if (controls.answerPings) send(socket, { type: 'pong', id: m.id })
    } else if (socket.session) {
      if (m.type === 'replay' && typeof m.after === 'number') replay(socket, socket.session, m.after)
      else common(socket.session, m)
    }
    changed()
  }

  const wsHandler = link.addEventListener('connection', ({ client }) => {
    controls.connections++
    urls.push(client.url.href)
    const refusal = controls.refusal
    if (refusal && refusal.on !== 'hello') {
      client.close(refusal.code ?? 1006, refusal.reason)
      return changed()
    }
    const socket: Socket = { client, session: undefined, silent: false }
    sockets.add(socket)
    client.addEventListener('message', (e) => onSocketMessage(socket, e.data))
    client.addEventListener('close', () => {
      if (sockets.delete(socket)) changed()
    })
    changed()
  })

  // ---- HTTP polling ----

  /** Hold a long poll until an event is issued in `s`, `wait` ms pass, or the client aborts. */
  function hold(s: Session, wait: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        heldPolls.get(s)?.delete(done)
        resolve()
      }
      const timer = setTimeout(done, wait)
      signal.addEventListener('abort', done)
      let list = heldPolls.get(s)
      if (!list) heldPolls.set(s, (list = new Set()))
      list.add(done)
    })
  }

  const handlers: (HttpHandler | WebSocketHandler)[] = [wsHandler]
  if (options.pollUrl !== undefined) {
    const pollUrl = options.pollUrl
    handlers.push(
      http.get(pollUrl, async ({ request }) => {
        const started = epoch
        const q = new URL(request.url).searchParams
        const poll: PollRecord = {
          session: q.get('session'),
          after: q.has('after') ? Number(q.get('after')) : null,
          events: (q.get('events') ?? '').split(',').filter(Boolean),
          wait: Number(q.get('wait') ?? 0),
          at: Date.now(),
        }
        polls.push(poll)
        bearer(request)
        changed()
        const failure = controls.pollFailures.shift()
        if (failure) return new HttpResponse(null, { status: failure.status, headers: failure.headers })
        const known = poll.session === null ? undefined : sessions.get(poll.session)
        const s = known ?? newSession(poll.events)
        const resumed = known !== undefined && poll.after !== null && covers(s, poll.after)
        const after = resumed ? (poll.after as number) : s.seq
        s.patterns = poll.events
        lastSession = s
        // a new or restarted session is answered at once: the client needs to learn it
        if (resumed && poll.wait > 0 && since(s, after).length === 0) await hold(s, poll.wait, request.signal)
        const events = since(s, after)
        if (started === epoch) {
          sentMessages.push(...(JSON.parse(JSON.stringify(events)) as ServerMessage[]))
          changed()
        }
        return HttpResponse.json({ session: s.id, resumed, seq: s.seq, events })
      }),
      http.post(pollUrl, async ({ request }) => {
        const started = epoch
        let body: unknown
        try {
          body = await request.json()
        } catch {
          return new HttpResponse(null, { status: 400 })
        }
        if (started !== epoch) return new HttpResponse(null, { status: 404 })
        const { session, messages } = (body ?? {}) as { session?: unknown; messages?: unknown }
        if (typeof session !== 'string' || !Array.isArray(messages)) return new HttpResponse(null, { status: 400 })
        const valid = messages.filter(isMessage)
        posts.push({ session, messages: valid })
        bearer(request)
        received.push(...valid)
        const s = sessions.get(session)
        if (s) for (const m of valid) common(s, m)
        changed()
        return new HttpResponse(null, { status: s ? 204 : 404 })
      }),
    )
  }

  // ---- waiting ----

  /** See {@link RealtimeMock.waitFor}. */
  function waitFor<T>(check: () => T, o: WaitForOptions = {}): Promise<Exclude<T, undefined | null | false>> {
    const timeout = o.timeout ?? 2000
    const interval = o.interval ?? 10
    return new Promise((resolve, reject) => {
      let lastError: unknown
      const finish = (): void => {
        waiters.delete(waiter)
        clearTimeout(deadline)
        clearInterval(ticker)
      }
      const waiter: Waiter = {
        check() {
          let value: T
          try {
            value = check()
          } catch (error) {
            lastError = error
            return
          }
          if (value === undefined || value === null || value === false) return
          finish()
          resolve(value as Exclude<T, undefined | null | false>)
        },
        fail(error) {
          finish()
          reject(error)
        },
      }
      const deadline = setTimeout(() => {
        const reason = lastError instanceof Error ? `: ${lastError.message}` : ''
        waiter.fail(new Error(`waitFor timed out after ${timeout} ms${reason}`, lastError === undefined ? undefined : { cause: lastError }))
      }, timeout)
      const ticker = setInterval(() => waiter.check(), interval)
      waiters.add(waiter)
      waiter.check()
    })
  }

  // ---- the test's controls ----

  const mock: RealtimeMock = {
    handlers,
    link,
    sessions,

    get connections() {
      return controls.connections
    },
    get urls() {
      return urls
    },
    get openSockets() {
      return sockets.size
    },
    get received() {
      return received
    },
    get sentMessages() {
      return sentMessages
    },
    get unreadable() {
      return unreadable
    },
    get polls() {
      return polls
    },
    get posts() {
      return posts
    },
    get tokens() {
      return tokens
    },
    get authExpires() {
      return controls.authExpires
    },
    set authExpires(ms: number | undefined) {
      controls.authExpires = ms
    },
    get session() {
      return lastSession
    },
    get subscriptions() {
      return [...(lastSession?.patterns ?? [])]
    },
    get heartbeat() {
      return controls.heartbeat
    },
    set heartbeat(ms: number | undefined) {
      controls.heartbeat = ms
    },

    messages(type) {
      return received.filter((m) => m.type === type)
    },

    expectSubscribed(patterns) {
      const mismatch = subscriptionMismatch(patterns, lastSession?.patterns)
      if (mismatch !== undefined) throw new Error(mismatch)
    },

    waitFor,

    async waitForSubscribed(patterns, o) {
      await waitFor(() => {
        mock.expectSubscribed(patterns)
        return true
      }, o)
    },

    publish(event, data, o = {}) {
      const seqs: number[] = []
      for (const s of sessions.values()) {
        if (!wants(s, event)) continue
        const frame: EventFrame = { type: 'event', seq: ++s.seq, event, data }
        if (o.ts !== undefined) frame.ts = o.ts
        if (o.ack !== undefined) frame.ack = o.ack
        s.buffer.push(frame)
        if (s.buffer.length > bufferSize) s.buffer.shift()
        seqs.push(frame.seq)
        if (o.deliver === false) continue
        for (const socket of sockets) if (socket.session === s) send(socket, frame)
        wake(s)
      }
      changed()
      return seqs
    },

    send(frame) {
      for (const socket of sockets) send(socket, frame)
    },

    resend(from, to = from) {
      for (const socket of sockets) {
        for (const e of socket.session?.buffer ?? []) if (e.seq >= from && e.seq <= to) send(socket, e)
      }
    },

    truncateBuffer(keep = 0) {
      for (const s of sessions.values()) s.buffer = keep === 0 ? [] : s.buffer.slice(-keep)
    },

    forgetSessions() {
      sessions.clear()
      lastSession = undefined
    },

    dropConnection(code = 1006, reason) {
      for (const socket of [...sockets]) close(socket, code, reason)
    },

    goSilent() {
      for (const socket of sockets) socket.silent = true
    },

    refuseWebSocket(refuse = true) {
      controls.refusal = refuse === false ? undefined : refuse === true ? {} : refuse
    },

    answerPings(answer) {
      controls.answerPings = answer
    },

    refuseAuth(times = 1) {
      controls.authRefusals = times
    },

    withholdWelcome(withhold = true) {
      controls.withholdWelcome = withhold
    },

    failPolls(status, o = {}) {
      for (let i = 0; i < (o.times ?? 1); i++) controls.pollFailures.push({ status, headers: o.headers ?? {} })
    },

    ping(id) {
      for (const socket of sockets) send(socket, { type: 'ping', id })
    },

    reset() {
      epoch++
      for (const socket of [...sockets]) close(socket, 1001, 'reset')
      for (const s of [...heldPolls.keys()]) wake(s)
      for (const w of [...waiters]) w.fail(new Error('waitFor cancelled: the realtime mock was reset'))
      sessions.clear()
      lastSession = undefined
      nextSession = 0
      controls.heartbeat = options.heartbeat
      controls.refusal = undefined
      controls.withholdWelcome = false
      controls.answerPings = true
      controls.pollFailures = []
      controls.authExpires = undefined
      controls.authRefusals = 0
      controls.connections = 0
      for (const record of [urls, received, sentMessages, unreadable, polls, posts, tokens]) record.length = 0
    },
  }
  return mock
}
