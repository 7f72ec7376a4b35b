/**
 * One WebSocket, from `hello` to close: it authenticates, opens or resumes a session, replays what
 * the client missed, answers pings and the other client messages, and takes the session's events
 * live through a bounded send queue. Frames are handled one at a time, in order, even when a
 * `hello` or `auth` waits for an asynchronous `authenticate`.
 */
import type { IncomingMessage } from 'node:http'
import type { WebSocket } from 'ws'
import type { ClientMessage } from '../protocol/v1-schema.js'
import { expiresOf, type Hub } from './hub.js'
import { SendQueue } from './send-queue.js'
import type { Entry } from './replay-buffer.js'
import type { Missed, Session, Sink } from './session.js'
import { reportFailure } from './store.js'
import { CloseCode, decodeFrame, encode, encodeEvent, ErrorCode, errorFrame, type Published } from './wire.js'

/** Frames that may wait while an `authenticate` runs; a client that sends more is closed. */
const MAX_INBOX = 64

type Hello = Extract<ClientMessage, { type: 'hello' }>

export class SocketConnection<P extends object> implements Sink {
  /** Last time any frame arrived, ms. */
  lastSeen = Date.now()
  private session: Session<P> | undefined
  private principal: P | undefined
  /** The highest seq this socket has sent: a live event at or below it was already sent (in a resume or a replay read from a shared store). */
  private sent = 0
  /** Live events that wait while a replay is read from a shared store, to follow it in order. */
  private held: { seq: number; item: Published }[] | undefined
  private readonly queue: SendQueue
  private readonly inbox: (string | null)[] = []
  private busy = false
  private helloSeen = false
  private invalid = 0
  private pingId = 0
  private closed = false
  private helloTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly ws: WebSocket,
    private readonly request: IncomingMessage,
    private readonly hub: Hub<P>,
    private readonly onGone: (connection: SocketConnection<P>) => void,
  ) {
    const s = hub.settings
    this.queue = new SendQueue(ws, s.maxQueue, s.maxBufferedBytes)
    this.helloTimer = setTimeout(() => this.close(CloseCode.PROTOCOL_ERROR, 'no hello'), s.helloTimeout)
    ws.on('message', (data, isBinary) => this.onFrame(isBinary ? null : data.toString()))
    ws.on('close', () => this.gone())
    ws.on('error', () => this.gone())
  }

  /** Frames handed to the socket and not yet written. */
  get queued(): number {
    return this.queue.depth
  }

  // ---- the session's live events (Sink) ----

  deliver(seq: number, item: Published): void {
    if (this.held) {
      if (this.held.length >= this.hub.settings.maxQueue) return this.slow()
      this.held.push({ seq, item })
      return
    }
    if (seq <= this.sent) return
    this.sent = seq
    this.send(encodeEvent(seq, item))
  }

  detach(reason: 'replaced' | 'forgotten'): void {
    this.session = undefined
    if (reason === 'replaced') this.close(CloseCode.NORMAL, 'replaced by a newer connection')
    else this.close(CloseCode.SERVICE_RESTART, 'session forgotten')
  }

  // ---- timers driven by the server ----

  /** Heartbeat tick: close a socket whose credentials expired, terminate a silent one, ping a quiet one. */
  tick(now: number, interval: number): void {
    if (this.closed || this.hub.silent) return
    const expires = expiresOf(this.principal)
    if (expires !== undefined && expires <= now) return this.close(CloseCode.UNAUTHORIZED, 'credentials expired')
    const quiet = now - this.lastSeen
    if (quiet >= 2 * interval) {
      this.hub.counters.add('heartbeatTimeouts')
      return this.terminate()
    }
    if (quiet >= interval) this.send(encode({ type: 'ping', id: ++this.pingId }))
  }

  /** Close with a code (the client sees it once it reads up to the close frame). */
  close(code: number, reason: string): void {
    if (this.closed) return
    this.detachSession()
    this.closed = true
    clearTimeout(this.helloTimer)
    this.ws.close(code, reason)
  }

  /** Cut the connection at once, no close handshake (a lost network, for the client). */
  terminate(): void {
    this.detachSession()
    this.closed = true
    clearTimeout(this.helloTimer)
    this.ws.terminate()
  }

  // ---- inbound ----

  private onFrame(frame: string | null): void {
    this.lastSeen = Date.now()
    if (this.closed || this.hub.silent) return
    if (this.inbox.length >= MAX_INBOX) return this.close(CloseCode.OVER_CAPACITY, 'too many frames in flight')
    this.inbox.push(frame)
    if (!this.busy) void this.drain()
  }

  private async drain(): Promise<void> {
    this.busy = true
    try {
      while (this.inbox.length > 0 && !this.closed) {
        const pending = this.handle(this.inbox.shift() ?? null)
        if (pending) await pending
      }
    } finally {
      this.busy = false
    }
  }

  /** Handle one frame; a promise only for the messages that wait for `authenticate` or a shared store. */
  private handle(frame: string | null): Promise<void> | undefined {
    const decoded = frame === null ? { ok: false as const, error: 'binary frames are not supported' } : decodeFrame(frame)
    if (decoded === null) return undefined // unknown type: ignored (forward compatibility)
    if (!decoded.ok) {
      this.badFrame(decoded.error)
      return undefined
    }
    const m = decoded.message
    switch (m.type) {
      case 'hello':
        return this.hello(m)
      case 'auth':
        return this.auth(m.token)
      case 'ping':
        this.send(encode({ type: 'pong', id: m.id }))
        return undefined
      case 'pong':
        return undefined // any frame counts as a sign of life
      default:
        if (!this.session) this.report(ErrorCode.BAD_REQUEST, '"hello" must come first')
        else if (m.type === 'replay') return this.replay(this.session, m.after)
        else this.hub.apply(this.session, m, this.report)
        return undefined
    }
  }

  private async hello(m: Hello): Promise<void> {
    if (this.helloSeen) return this.report(ErrorCode.BAD_REQUEST, '"hello" was already received on this connection')
    this.helloSeen = true
    clearTimeout(this.helloTimer)
    const auth = await this.hub.authenticate(this.request, m.token)
    if (this.closed) return
    if (!auth.ok) return this.close(auth.failed ? CloseCode.INTERNAL_ERROR : CloseCode.UNAUTHORIZED, auth.failed ? 'authentication failed' : 'unauthorized')
    this.principal = auth.principal
    let opened
    try {
      opened = await this.hub.open(m.session, m.after, auth.principal)
    } catch (error) {
      reportFailure(this.hub.settings.onError, error, 'opening a session failed')
      return this.close(CloseCode.INTERNAL_ERROR, 'session store unavailable')
    }
    if (this.closed) return
    if (!opened) return this.close(CloseCode.OVER_CAPACITY, 'too many sessions')
    const { session, resumed, missed } = opened
    const refused = session.replacePatterns(m.events)
    this.session = session
    session.attachSocket(this)
    const { heartbeat } = this.hub.settings
    this.sent = session.seq
    this.send(encode({ type: 'welcome', v: 1, session: session.id, resumed, seq: session.seq, heartbeat }))
    if (resumed && m.after !== null) this.sendMissed(session, m.after, missed)
    this.hub.refused(refused, this.report)
  }

  private async auth(token: string): Promise<void> {
    const auth = await this.hub.renew(this.request, token)
    if (this.closed) return
    if (!auth.ok) return this.close(auth.failed ? CloseCode.INTERNAL_ERROR : CloseCode.UNAUTHORIZED, auth.failed ? 'authentication failed' : 'unauthorized')
    this.principal = auth.principal
    this.session?.setPrincipal(auth.principal)
    const expires = expiresOf(auth.principal)
    this.send(encode(expires === undefined ? { type: 'auth_ok' } : { type: 'auth_ok', expires }))
  }

  /**
   * Answer `replay`. A shared store reads the buffer asynchronously: live events wait meanwhile
   * (bounded like the send queue), so the replay goes out first and nothing in it is sent twice.
   */
  private replay(session: Session<P>, after: number): Promise<void> | undefined {
    const missed = after > session.seq ? undefined : session.since(after)
    if (!(missed instanceof Promise)) return this.sendMissed(session, after, missed)
    this.held = []
    return missed.then(
      (entries) => {
        const held = this.held ?? []
        this.held = undefined
        if (this.closed) return
        this.sendMissed(session, after, entries)
        for (const { seq, item } of held) this.deliver(seq, item)
      },
      (error) => {
        this.held = undefined
        reportFailure(this.hub.settings.onError, error, 'reading a replay failed')
        this.close(CloseCode.INTERNAL_ERROR, 'session store unavailable')
      },
    )
  }

  /** Resend what followed `after`, or say it is gone (`replay_failed` with the current head). */
  private sendMissed(session: Session<P>, after: number, missed: Missed): undefined {
    if (missed === undefined) {
      this.hub.counters.add('replayFailures')
      this.send(encode({ type: 'replay_failed', after, seq: session.seq }))
      return
    }
    if (missed.length === 0) return
    this.hub.counters.add('replays')
    // A replay is as large as the replay buffer allows, no more, and the client asked for it: it is
    // written whole, past the live-delivery bound, so a healthy client is not cut off as slow.
    for (const { seq, item } of missed) this.send(encodeEvent(seq, item), false)
    this.sent = Math.max(this.sent, (missed[missed.length - 1] as Entry).seq)
  }

  private badFrame(error: string): void {
    this.hub.counters.add('badRequests')
    this.report(ErrorCode.BAD_REQUEST, error)
    if (++this.invalid >= this.hub.settings.maxInvalidFrames) this.close(CloseCode.PROTOCOL_ERROR, 'too many invalid frames')
  }

  private readonly report = (code: string, message: string): void => {
    this.send(errorFrame(code, message))
  }

  // ---- outbound ----

  private send(frame: string, bounded = true): void {
    if (this.closed || this.hub.silent) return
    if (!this.queue.send(frame, bounded)) return this.slow()
    this.hub.counters.add('messagesSent')
  }

  /** Too far behind: stop live delivery; the session keeps buffering for a replay later. */
  private slow(): void {
    this.hub.counters.add('slowConsumers')
    this.close(CloseCode.OVER_CAPACITY, 'slow consumer')
  }

  private detachSession(): void {
    const session = this.session
    this.session = undefined
    session?.release(this)
  }

  private gone(): void {
    this.detachSession()
    this.closed = true
    clearTimeout(this.helloTimer)
    this.onGone(this)
  }
}
