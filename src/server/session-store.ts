/**
 * The sessions of one server: a map bounded by `maxSessions`, with expired sessions removed by a
 * periodic sweep (and ignored on lookup, so the TTL is exact even between sweeps).
 */
import { Session, type SessionLimits } from './session.js'

export interface StoreLimits extends SessionLimits {
  maxSessions: number
  sessionTtl: number
}

export class SessionStore<P extends object> {
  private readonly sessions = new Map<string, Session<P>>()
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
  values(): IterableIterator<Session<P>> {
    return this.sessions.values()
  }

  /** The session with this id, unless it is unknown or expired. */
  get(id: string | null | undefined): Session<P> | undefined {
    if (typeof id !== 'string') return undefined
    const session = this.sessions.get(id)
    if (session && session.expired(Date.now(), this.limits.sessionTtl)) {
      this.drop(session)
      return undefined
    }
    return session
  }

  /** A new session, or undefined when `maxSessions` are live even after a sweep. */
  create(principal: P | undefined): Session<P> | undefined {
    if (this.sessions.size >= this.limits.maxSessions) this.sweep()
    if (this.sessions.size >= this.limits.maxSessions) return undefined
    const session = new Session<P>(this.limits, principal)
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

  private drop(session: Session<P>): void {
    this.sessions.delete(session.id)
    session.forget()
  }
}
