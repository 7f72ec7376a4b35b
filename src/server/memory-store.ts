/**
 * The default store: the sessions of one server, in this process. A map bounded by `maxSessions`,
 * with expired sessions removed by a periodic sweep (and ignored on lookup, so the TTL is exact
 * even between sweeps). Each session issues its seqs and keeps its replay buffer itself.
 */
import { type Entry, ReplayBuffer } from './replay-buffer.js'
import { newSessionId, Session, type SessionLimits } from './session.js'
import type { Opened, Store } from './store.js'
import type { Published } from './wire.js'

export interface StoreLimits extends SessionLimits {
  maxSessions: number
  sessionTtl: number
}

export class MemorySession<P extends object> extends Session<P> {
  readonly buffer: ReplayBuffer

  constructor(limits: SessionLimits, principal: P | undefined) {
    super(newSessionId(), limits, principal)
    this.buffer = new ReplayBuffer(limits.replayBuffer, limits.replayMaxAge)
  }

  give(item: Published): void {
    const seq = ++this.seq
    this.buffer.push({ seq, item })
    this.deliver(seq, item)
  }

  since(after: number): Entry[] | undefined {
    return this.buffer.since(after, this.seq)
  }

  find(seq: number): Entry | undefined {
    return this.buffer.find(seq)
  }

  override forget(): void {
    this.buffer.clear()
    super.forget()
  }
}

export class MemoryStore<P extends object> implements Store<P> {
  readonly ready = Promise.resolve()
  private readonly sessions = new Map<string, MemorySession<P>>()
  private sweeper: ReturnType<typeof setInterval> | undefined

  constructor(private readonly limits: StoreLimits) {
    // Often enough that expired sessions do not linger long, rarely enough to cost nothing.
    const every = Math.min(Math.max(limits.sessionTtl / 2, 50), 30_000)
    this.sweeper = setInterval(() => this.sweep(), every)
  }

  get size(): number {
    return this.sessions.size
  }

  /** Every live session (for `publish`). */
  values(): IterableIterator<MemorySession<P>> {
    return this.sessions.values()
  }

  open(id: string | null | undefined, after: number | null | undefined, principal: P | undefined): Opened<P> | undefined {
    const known = this.get(id)
    if (known && typeof after === 'number' && after <= known.seq) {
      known.principal = principal
      known.lastActive = Date.now()
      return { session: known, resumed: true, missed: known.since(after) }
    }
    const session = this.create(principal)
    return session && { session, resumed: false, missed: [] }
  }

  /** The session with this id, unless it is unknown or expired. */
  get(id: string | null | undefined): MemorySession<P> | undefined {
    if (typeof id !== 'string') return undefined
    const session = this.sessions.get(id)
    if (session && session.expired(Date.now(), this.limits.sessionTtl)) {
      this.drop(session)
      return undefined
    }
    return session
  }

  /** A new session, or undefined when `maxSessions` are live even after a sweep. */
  create(principal: P | undefined): MemorySession<P> | undefined {
    if (this.sessions.size >= this.limits.maxSessions) this.sweep()
    if (this.sessions.size >= this.limits.maxSessions) return undefined
    const session = new MemorySession<P>(this.limits, principal)
    this.sessions.set(session.id, session)
    return session
  }

  /** Remove expired sessions. */
  sweep(now = Date.now()): void {
    for (const session of this.sessions.values()) {
      if (session.expired(now, this.limits.sessionTtl)) this.drop(session)
    }
  }

  /** Forget every session, as a restarted server would. */
  clear(): void {
    for (const session of [...this.sessions.values()]) this.drop(session)
  }

  /** Stop the sweep and forget everything. */
  close(): void {
    clearInterval(this.sweeper)
    this.sweeper = undefined
    this.clear()
  }

  private drop(session: MemorySession<P>): void {
    this.sessions.delete(session.id)
    session.forget()
  }
}
