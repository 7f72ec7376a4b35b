/**
 * One client session (PROTOCOL.md, "Session and sequence"): its id, the last seq it issued, its
 * patterns, and the transports attached to it. It outlives its transports: a socket or a held poll
 * attaches to it while it is live, and a detached session expires `sessionTtl` after its last
 * activity.
 *
 * Where the seqs are issued and the replay buffer is kept is the store's business: in this
 * process (`MemorySession`, memory-store.ts), or in Redis (`RedisSession`, redis-session.ts). So
 * `give`, `since` and `find` are the store's; reading the buffer from Redis is asynchronous, and
 * the transports take either answer.
 *
 * At most one socket and one held poll are attached at a time (a newer one replaces the older),
 * so what a session holds is bounded whatever its clients do.
 */
import { randomBytes } from 'node:crypto'
import type { Entry } from './replay-buffer.js'
import { PatternSet, type Refused } from './subscriptions.js'
import type { Published } from './wire.js'

/** What hooks (`filter`, `onAck`, `snapshot`) see of a session. */
export interface SessionView<P extends object> {
  readonly id: string
  /** What `authenticate` answered for the latest request of this session (undefined for `true`). */
  readonly principal: P | undefined
  /** The last seq issued in this session (with `redisStore`: the last one this server instance has seen). */
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

/** Buffered entries after some seq, oldest first, or undefined when the buffer no longer covers it. */
export type Missed = Entry[] | undefined

/** A value now, or once a store has read it. */
export type Eventually<T> = T | Promise<T>

/** An unguessable session id: whoever knows it can resume the session. */
export const newSessionId = (): string => `s-${randomBytes(16).toString('base64url')}`

export abstract class Session<P extends object> implements SessionView<P> {
  principal: P | undefined
  seq = 0
  readonly subscriptions: PatternSet
  /** Last time a transport was attached or a request used the session, ms. */
  lastActive = Date.now()
  /** A `refresh` is being answered; `refreshAgain`: another one arrived meanwhile. */
  refreshing = false
  refreshAgain = false
  private socket: Sink | undefined
  private poll: Sink | undefined

  constructor(
    readonly id: string,
    limits: SessionLimits,
    principal: P | undefined,
  ) {
    this.principal = principal
    this.subscriptions = new PatternSet(limits.maxPatternsPerSession)
  }

  /** Issue the next seq for `item`, keep it for replay, and hand it to the live transports. */
  abstract give(item: Published): void

  /** Buffered entries after `after`, or undefined when the buffer no longer covers it. */
  abstract since(after: number): Eventually<Missed>

  /** The buffered entry with this seq, if still held. */
  abstract find(seq: number): Eventually<Entry | undefined>

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

  /** A request used the session: its TTL counts from now. */
  touch(): void {
    this.lastActive = Date.now()
  }

  setPrincipal(principal: P | undefined): void {
    this.principal = principal
    this.saved('principal')
  }

  /** Replace the whole pattern set (`hello`, poll GET). */
  replacePatterns(patterns: readonly string[]): Refused {
    const refused = this.subscriptions.replace(patterns)
    this.saved('patterns')
    return refused
  }

  subscribe(patterns: readonly string[]): Refused {
    const refused = this.subscriptions.add(patterns)
    this.saved('patterns')
    return refused
  }

  unsubscribe(patterns: readonly string[]): void {
    this.subscriptions.remove(patterns)
    this.saved('patterns')
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
    this.touch()
  }

  /** The session is dropped from the store: its transports stop getting its events. */
  forget(): void {
    const { socket, poll } = this
    this.socket = this.poll = undefined
    socket?.detach('forgotten')
    poll?.detach('forgotten')
  }

  /** Hand an issued event to the live transports. */
  protected deliver(seq: number, item: Published): void {
    this.socket?.deliver(seq, item)
    this.poll?.deliver(seq, item)
  }

  /** The patterns or the principal changed (a shared store writes them through). */
  protected saved(_what: 'patterns' | 'principal'): void {}
}
