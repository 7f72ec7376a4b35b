/**
 * One client session (PROTOCOL.md, "Session and sequence"): its id, the last seq it issued, its
 * patterns and its replay buffer. It outlives its transports: a socket or a held poll attaches to
 * it while it is live, and a detached session expires `sessionTtl` after its last activity.
 *
 * At most one socket and one held poll are attached at a time (a newer one replaces the older),
 * so what a session holds is bounded whatever its clients do.
 */
import { randomBytes } from 'node:crypto'
import { type Entry, ReplayBuffer } from './replay-buffer.js'
import { PatternSet } from './subscriptions.js'
import type { Published } from './wire.js'

/** What hooks (`filter`, `onAck`, `snapshot`) see of a session. */
export interface SessionView<P extends object> {
  readonly id: string
  /** What `authenticate` answered for the latest request of this session (undefined for `true`). */
  readonly principal: P | undefined
  /** The last seq issued in this session. */
  readonly seq: number
  /** The current subscription patterns; empty means every event. */
  readonly patterns: readonly string[]
}

/** A transport that takes a session's events live. */
export interface Sink {
  /** The session issued `seq` for `item`. */
  deliver(seq: number, item: Published): void
  /** The session was taken over by a newer transport of the same kind, or forgotten. */
  detach(reason: 'replaced' | 'forgotten'): void
}

export interface SessionLimits {
  replayBuffer: number
  replayMaxAge: number
  maxPatternsPerSession: number
}

/** An unguessable session id: whoever knows it can resume the session. */
const newId = (): string => `s-${randomBytes(16).toString('base64url')}`

export class Session<P extends object> implements SessionView<P> {
  readonly id = newId()
  principal: P | undefined
  seq = 0
  readonly subscriptions: PatternSet
  readonly buffer: ReplayBuffer
  /** Last time a transport was attached or a request used the session, ms. */
  lastActive = Date.now()
  /** A `refresh` is being answered; `refreshAgain`: another one arrived meanwhile. */
  refreshing = false
  refreshAgain = false
  private socket: Sink | undefined
  private poll: Sink | undefined

  constructor(limits: SessionLimits, principal: P | undefined) {
    this.principal = principal
    this.subscriptions = new PatternSet(limits.maxPatternsPerSession)
    this.buffer = new ReplayBuffer(limits.replayBuffer, limits.replayMaxAge)
  }

  get patterns(): readonly string[] {
    return this.subscriptions.list()
  }

  /** Whether a socket or a held poll is attached (an attached session never expires). */
  get attached(): boolean {
    return this.socket !== undefined || this.poll !== undefined
  }

  expired(now: number, ttl: number): boolean {
    return !this.attached && now - this.lastActive > ttl
  }

  /** Issue the next seq for `item`, keep it for replay, and hand it to the live transports. */
  give(item: Published): number {
    const seq = ++this.seq
    this.buffer.push({ seq, item })
    this.socket?.deliver(seq, item)
    this.poll?.deliver(seq, item)
    return seq
  }

  /** Buffered entries after `after`, or undefined when the buffer no longer covers it. */
  since(after: number): Entry[] | undefined {
    return this.buffer.since(after, this.seq)
  }

  attachSocket(sink: Sink): void {
    if (this.socket === sink) return
    const old = this.socket
    this.socket = sink
    this.lastActive = Date.now()
    old?.detach('replaced')
  }

  attachPoll(sink: Sink): void {
    if (this.poll === sink) return
    const old = this.poll
    this.poll = sink
    this.lastActive = Date.now()
    old?.detach('replaced')
  }

  /** A transport let go (closed, answered); the TTL counts from now. */
  release(sink: Sink): void {
    if (this.socket === sink) this.socket = undefined
    else if (this.poll === sink) this.poll = undefined
    else return
    this.lastActive = Date.now()
  }

  /** The session is dropped from the store: its transports stop getting its events. */
  forget(): void {
    const { socket, poll } = this
    this.socket = this.poll = undefined
    this.buffer.clear()
    socket?.detach('forgotten')
    poll?.detach('forgotten')
  }
}
