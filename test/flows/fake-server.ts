/**
 * A fake wirefeed v1 server built from msw handlers (PROTOCOL.md): sessions with their own seq
 * counter and replay buffer, subscription patterns, WebSocket (`ws.link`) and HTTP polling
 * (`http` GET/POST) sharing the same sessions, plus the knobs a test needs to misbehave on
 * purpose: drop a socket, go silent, refuse or never welcome a socket, lose or resend events,
 * forget sessions (a restart), fail polls.
 *
 * It knows nothing about the test runner: a test creates one, hands `handlers` to msw's
 * `setupServer`, and calls `reset()` between tests.
 */
import { http, type HttpHandler, HttpResponse, type WebSocketData, type WebSocketHandler, ws } from 'msw'
import { matchPattern } from '../../src/patterns.js'
import type { EventMessage } from '../../src/protocol/v1-schema.js'

/** An event frame as the server sends it (the wire type of the v1 schemas). */
export type EventFrame = EventMessage

/** A client message, parsed (whatever its shape: the fake server records before it judges). */
export type ClientMessage = { type: string } & Record<string, unknown>

export interface FakeSession {
  readonly id: string
  /** The last seq issued in this session. */
  seq: number
  /** The subscription set; empty means every event. */
  patterns: string[]
  /** The last `bufferSize` events issued in this session. */
  buffer: EventFrame[]
  /** Seqs the client acknowledged. */
  acks: number[]
}

export interface FakeServerOptions {
  /** The WebSocket URL the client connects to (matched by msw's `ws.link`). */
  url: string
  /** The HTTP polling endpoint. */
  pollUrl?: string
  /** `welcome.heartbeat`, ms; omitted from `welcome` when undefined. */
  heartbeat?: number
  /** Events kept per session for replay. @default 100 */
  bufferSize?: number
}

export interface PublishOptions {
  ack?: boolean
  ts?: number
  /** false: issue the seq and buffer the event, but do not send it (a lost frame). @default true */
  deliver?: boolean
}

/** How the server turns a WebSocket away. */
export interface Refusal {
  /** Close code. @default 1006 */
  code?: number
  reason?: string
  /** 'connect': close at once, before any frame; 'hello': close when `hello` arrives. @default 'connect' */
  on?: 'connect' | 'hello'
}

export interface PollRecord {
  session: string | null
  after: number | null
  events: string[]
  wait: number
  /** `Date.now()` when it arrived. */
  at: number
}

type ConnectionListener = Parameters<ReturnType<typeof ws.link>['addEventListener']>[1]
type WsClient = Parameters<ConnectionListener>[0]['client']

interface Socket {
  readonly client: WsClient
  session: FakeSession | undefined
  /** Half-open: nothing the server sends reaches the client any more. */
  silent: boolean
  /** Forgotten by `reset()`: late frames from it belong to an earlier test. */
  stale: boolean
}

interface PollFailure {
  status: number
  headers: Record<string, string>
}

const parse = (raw: unknown): ClientMessage | undefined => {
  if (typeof raw !== 'string') return undefined
  try {
    const m: unknown = JSON.parse(raw)
    return typeof m === 'object' && m !== null && !Array.isArray(m) && typeof (m as ClientMessage).type === 'string' ? (m as ClientMessage) : undefined
  } catch {
    return undefined
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : [])

export function createFakeServer(options: FakeServerOptions) {
  const link = ws.link(options.url)
  const bufferSize = options.bufferSize ?? 100

  const sessions = new Map<string, FakeSession>()
  const sockets = new Set<Socket>()
  /** Long polls waiting for an event, by session. */
  const waiters = new Map<FakeSession, Set<() => void>>()
  let nextSession = 0
  let lastSession: FakeSession | undefined

  const state = {
    heartbeat: options.heartbeat,
    refusal: undefined as Refusal | undefined,
    withholdWelcome: false,
    answerPings: true,
    pollFailures: [] as PollFailure[],
    connections: 0,
    urls: [] as string[],
    received: [] as ClientMessage[],
    /** Frames that were not a JSON object with a string `type`. */
    unreadable: [] as unknown[],
    polls: [] as PollRecord[],
    posts: [] as { session: string; messages: ClientMessage[] }[],
  }

  // ---- sessions ----

  function newSession(patterns: string[]): FakeSession {
    const s: FakeSession = { id: `s-${++nextSession}`, seq: 0, patterns, buffer: [], acks: [] }
    sessions.set(s.id, s)
    return s
  }

  const wants = (s: FakeSession, event: string): boolean => s.patterns.length === 0 || s.patterns.some((p) => matchPattern(p, event))

  /** Whether the buffer still holds every event after `after`. */
  const covers = (s: FakeSession, after: number): boolean => after >= s.seq || (s.buffer[0] !== undefined && s.buffer[0].seq <= after + 1)

  const since = (s: FakeSession, after: number): EventFrame[] => s.buffer.filter((e) => e.seq > after)

  function wake(s: FakeSession): void {
    const list = waiters.get(s)
    waiters.delete(s)
    for (const w of list ?? []) w()
  }

  // ---- WebSocket ----

  function send(socket: Socket, frame: unknown): void {
    if (socket.silent) return
    const raw = typeof frame === 'string' || frame instanceof ArrayBuffer || ArrayBuffer.isView(frame) || frame instanceof Blob
    socket.client.send(raw ? (frame as WebSocketData) : JSON.stringify(frame))
  }

  /** Answer `replay`/`hello` resume: the buffered events after `after`, or `replay_failed`. */
  function replay(socket: Socket, s: FakeSession, after: number): void {
    if (!covers(s, after)) return send(socket, { type: 'replay_failed', after, seq: s.seq })
    for (const e of since(s, after)) send(socket, e)
  }

  function hello(socket: Socket, m: ClientMessage): void {
    const refusal = state.refusal
    if (refusal?.on === 'hello') return socket.client.close(refusal.code ?? 1006, refusal.reason)
    if (state.withholdWelcome) return
    const events = strings(m.events)
    const known = typeof m.session === 'string' ? sessions.get(m.session) : undefined
    const s = known ?? newSession(events)
    s.patterns = events
    socket.session = lastSession = s
    send(socket, { type: 'welcome', v: 1, session: s.id, resumed: known !== undefined, seq: s.seq, ...(state.heartbeat === undefined ? {} : { heartbeat: state.heartbeat }) })
    if (known && typeof m.after === 'number') replay(socket, s, m.after)
  }

  /** What both transports do with a client message once its session is known. */
  function common(s: FakeSession, m: ClientMessage): void {
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

  function onSocketMessage(socket: Socket, raw: unknown): void {
    if (socket.stale) return
    const m = parse(raw)
    if (!m) return void state.unreadable.push(raw)
    state.received.push(m)
    if (m.type === 'hello') return hello(socket, m)
    if (m.type === 'ping') return state.answerPings ? send(socket, { type: 'pong', id: m.id }) : undefined
    const s = socket.session
    if (!s) return
    if (m.type === 'replay' && typeof m.after === 'number') return replay(socket, s, m.after)
    common(s, m)
  }

  const wsHandler = link.addEventListener('connection', ({ client }) => {
    state.connections++
    state.urls.push(client.url.href)
    const refusal = state.refusal
    if (refusal && refusal.on !== 'hello') return client.close(refusal.code ?? 1006, refusal.reason)
    const socket: Socket = { client, session: undefined, silent: false, stale: false }
    sockets.add(socket)
    client.addEventListener('message', (e) => onSocketMessage(socket, e.data))
    client.addEventListener('close', () => sockets.delete(socket))
  })

  // ---- HTTP polling ----

  const handlers: (HttpHandler | WebSocketHandler)[] = [wsHandler]
  if (options.pollUrl !== undefined) {
    const pollUrl = options.pollUrl
    handlers.push(
      http.get(pollUrl, async ({ request }) => {
        const q = new URL(request.url).searchParams
        const poll: PollRecord = {
          session: q.get('session'),
          after: q.has('after') ? Number(q.get('after')) : null,
          events: (q.get('events') ?? '').split(',').filter(Boolean),
          wait: Number(q.get('wait') ?? 0),
          at: Date.now(),
        }
        state.polls.push(poll)
        const failure = state.pollFailures.shift()
        if (failure) return new HttpResponse(null, { status: failure.status, headers: failure.headers })
        const known = poll.session === null ? undefined : sessions.get(poll.session)
        const s = known ?? newSession(poll.events)
        const resumed = known !== undefined && poll.after !== null && covers(s, poll.after)
        const after = resumed ? (poll.after as number) : s.seq
        s.patterns = poll.events
        lastSession = s
        // a new or restarted session is answered at once: the client needs to learn it
        if (resumed && poll.wait > 0 && since(s, after).length === 0) await held(s, poll.wait, request.signal)
        return HttpResponse.json({ session: s.id, resumed, seq: s.seq, events: since(s, after) })
      }),
      http.post(pollUrl, async ({ request }) => {
        const body = (await request.json()) as { session: string; messages: ClientMessage[] }
        state.posts.push(body)
        state.received.push(...body.messages)
        const s = sessions.get(body.session)
        if (!s) return new HttpResponse(null, { status: 404 })
        for (const m of body.messages) common(s, m)
        return new HttpResponse(null, { status: 204 })
      }),
    )
  }

  /** Hold a long poll until an event is issued in `s`, `wait` ms pass, or the client aborts. */
  function held(s: FakeSession, wait: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        waiters.get(s)?.delete(done)
        resolve()
      }
      const timer = setTimeout(done, wait)
      signal.addEventListener('abort', done)
      let list = waiters.get(s)
      if (!list) waiters.set(s, (list = new Set()))
      list.add(done)
    })
  }

  // ---- the test's controls ----

  return {
    handlers,
    link,
    sessions,

    /** WebSocket connections seen (refused ones included). */
    get connections(): number {
      return state.connections
    },
    /** The URL of every WebSocket connection seen. */
    get urls(): string[] {
      return state.urls
    },
    /** Sockets open right now. */
    get openSockets(): number {
      return sockets.size
    },
    /** Every parsed client message, over WebSocket and POST, in order. */
    get received(): ClientMessage[] {
      return state.received
    },
    /** Frames the server could not read as a message. */
    get unreadable(): unknown[] {
      return state.unreadable
    },
    /** Every poll GET, parsed. */
    get polls(): PollRecord[] {
      return state.polls
    },
    /** Every poll POST body. */
    get posts(): { session: string; messages: ClientMessage[] }[] {
      return state.posts
    },
    /** The session that last said hello or polled. */
    get session(): FakeSession | undefined {
      return lastSession
    },
    /** Patterns of the session that last said hello or polled. */
    get subscriptions(): string[] {
      return lastSession?.patterns ?? []
    },
    /** `welcome.heartbeat` for the next welcomes. */
    set heartbeat(ms: number | undefined) {
      state.heartbeat = ms
    },

    /** Received messages of one type. */
    messages(type: string): ClientMessage[] {
      return state.received.filter((m) => m.type === type)
    },

    /**
     * Issue an event in every session subscribed to it and send it to that session's live socket
     * or long poll. Returns the seq it got in each session.
     */
    publish(event: string, data: unknown, o: PublishOptions = {}): number[] {
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
      return seqs
    },

    /** Send any frame (an object is JSON-encoded; a string or binary goes as is) to every open socket. */
    send(frame: unknown): void {
      for (const socket of sockets) send(socket, frame)
    },

    /** Send the buffered events `from`..`to` again (duplicates). */
    resend(from: number, to = from): void {
      for (const socket of sockets) {
        for (const e of socket.session?.buffer ?? []) if (e.seq >= from && e.seq <= to) send(socket, e)
      }
    },

    /** Keep only the last `keep` events of every session's buffer (older ones can no longer be replayed). */
    truncateBuffer(keep = 0): void {
      for (const s of sessions.values()) s.buffer = keep === 0 ? [] : s.buffer.slice(-keep)
    },

    /** Forget every session, as a restarted server would. */
    forgetSessions(): void {
      sessions.clear()
      lastSession = undefined
    },

    /** Close every open socket from the server side. */
    dropConnection(code = 1006, reason?: string): void {
      for (const socket of sockets) socket.client.close(code, reason)
    },

    /** Stop sending anything on the open sockets (pongs included): a half-open link. New sockets work. */
    goSilent(): void {
      for (const socket of sockets) socket.silent = true
    },

    /** Turn WebSocket away (`true`: close every new socket at once with 1006), or accept it again (`false`). */
    refuseWebSocket(refuse: boolean | Refusal = true): void {
      state.refusal = refuse === false ? undefined : refuse === true ? {} : refuse
    },

    /** Whether client pings get a pong (other frames still flow when false). */
    answerPings(answer: boolean): void {
      state.answerPings = answer
    },

    /** Accept sockets and read `hello`, but never answer it. */
    withholdWelcome(withhold = true): void {
      state.withholdWelcome = withhold
    },

    /** Answer the next `times` poll GETs with `status` (and headers, e.g. Retry-After). */
    failPolls(status: number, o: { times?: number; headers?: Record<string, string> } = {}): void {
      for (let i = 0; i < (o.times ?? 1); i++) state.pollFailures.push({ status, headers: o.headers ?? {} })
    },

    /** Send a server `ping` to every open socket. */
    ping(id: number | string): void {
      for (const socket of sockets) send(socket, { type: 'ping', id })
    },

    /** Back to a fresh server: sockets closed, sessions and records forgotten, knobs reset. */
    reset(): void {
      for (const socket of sockets) {
        socket.stale = true
        socket.client.close(1001, 'reset')
      }
      sockets.clear()
      for (const s of [...waiters.keys()]) wake(s)
      sessions.clear()
      lastSession = undefined
      nextSession = 0
      state.heartbeat = options.heartbeat
      state.refusal = undefined
      state.withholdWelcome = false
      state.answerPings = true
      state.pollFailures = []
      state.connections = 0
      state.urls = []
      state.received = []
      state.unreadable = []
      state.polls = []
      state.posts = []
    },
  }
}

export type FakeServer = ReturnType<typeof createFakeServer>
