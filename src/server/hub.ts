/**
 * The transport-independent core: publishing into sessions (patterns, then `filter`, then a seq),
 * opening and resuming sessions, running the hooks, and the client messages that mean the same
 * over a socket and a poll POST. The WebSocket and polling modules are thin transports over it.
 */
import type { IncomingMessage } from 'node:http'
import type { ClientMessage } from '../protocol/v1-schema.js'
import { MemoryStore } from './memory-store.js'
import type { Settings, SnapshotEvent } from './options.js'
import type { Entry } from './replay-buffer.js'
import type { Eventually, Session } from './session.js'
import { StatsCounters } from './stats.js'
import { type Opened, openStore, reportFailure, type Store } from './store.js'
import { isValidEventName, type Refused } from './subscriptions.js'
import { ErrorCode, prepare, type Published } from './wire.js'

/** What `authenticate` decided: a principal, a refusal, or a hook that threw. */
export type AuthOutcome<P> = { ok: true; principal: P | undefined } | { ok: false; failed: boolean }

/** Reports a problem back to the client that caused it (an `error` frame over a socket). */
export type Report = (code: string, message: string) => void

/** The `expires` (ms since the epoch) a principal carries, if any. */
export function expiresOf(principal: unknown): number | undefined {
  const expires = typeof principal === 'object' && principal !== null ? (principal as { expires?: unknown }).expires : undefined
  return typeof expires === 'number' && Number.isFinite(expires) ? expires : undefined
}

const quoted = (list: readonly string[]): string =>
  list
    .slice(0, 5)
    .map((p) => JSON.stringify(String(p).slice(0, 80)))
    .join(', ') + (list.length > 5 ? ` (+${list.length - 5} more)` : '')

export class Hub<P extends object> {
  readonly store: Store<P>
  readonly counters = new StatsCounters()
  /** Test hook: the server stops answering (see `setSilent`). */
  silent = false
  /** Test hook: how many `auth` messages to come are refused whatever `authenticate` says (see `refuseAuth`). */
  refuseAuth = 0
  closed = false

  constructor(readonly settings: Settings<P>) {
    this.store = settings.store ? openStore(settings.store, settings) : new MemoryStore<P>(settings)
  }

  /** Deliver an event to every session that wants it; returns how many sessions took it. */
  publish(event: string, data: unknown, ack: boolean): number {
    if (!isValidEventName(event)) throw new TypeError(`publish: invalid event name ${JSON.stringify(String(event)).slice(0, 80)}`)
    if (this.closed) return 0
    const item = prepare(event, data, ack)
    this.counters.add('published')
    const now = Date.now()
    let delivered = 0
    for (const session of this.store.values()) {
      if (!session.expired(now, this.settings.sessionTtl) && this.offer(session, item)) delivered++
    }
    return delivered
  }

  /** Give `item` to `session` if its patterns match and `filter` agrees. The seq comes last, so a filtered session sees no gap. */
  offer(session: Session<P>, item: Published): boolean {
    if (!session.subscriptions.matches(item.event)) return false
    const { filter } = this.settings
    if (filter) {
      let keep = false
      try {
        keep = filter(session, item.event, item.data) === true
      } catch (error) {
        this.settings.onError(error, `filter threw for "${item.event}"`)
      }
      if (!keep) return false
    }
    session.give(item)
    this.counters.add('delivered')
    return true
  }

  /** Run `authenticate`; a hook that throws is an internal failure, not a refusal. */
  async authenticate(request: IncomingMessage, token: string | undefined): Promise<AuthOutcome<P>> {
    const hook = this.settings.authenticate
    if (!hook) return { ok: true, principal: undefined }
    let result: boolean | P
    try {
      result = await hook(request, token)
    } catch (error) {
      this.settings.onError(error, 'authenticate threw')
      return { ok: false, failed: true }
    }
    if (result === false || result === null || result === undefined) {
      this.counters.add('unauthorized')
      return { ok: false, failed: false }
    }
    return { ok: true, principal: result === true ? undefined : result }
  }

  /** `authenticate` for an `auth` message (a renewal on a live socket), unless the `refuseAuth` test hook refuses it first. */
  renew(request: IncomingMessage, token: string): Promise<AuthOutcome<P>> | AuthOutcome<P> {
    if (this.refuseAuth <= 0) return this.authenticate(request, token)
    this.refuseAuth--
    this.counters.add('unauthorized')
    return { ok: false, failed: false }
  }

  /**
   * Find the session a client asks to resume, or start a new one (`resumed: false`). A known
   * session whose buffer no longer covers `after` is still resumed, with `missed` undefined. An
   * `after` past the session's head cannot belong to it: that starts a new session.
   * Undefined when a new session is needed and `maxSessions` are live. Rejects when a shared store
   * cannot be reached.
   */
  open(id: string | null | undefined, after: number | null | undefined, principal: P | undefined): Eventually<Opened<P> | undefined> {
    const opened = this.store.open(id, after, principal)
    return opened instanceof Promise ? opened.then((o) => this.counted(o)) : this.counted(opened)
  }

  /** The session a poll POST names, unless it is unknown or expired. */
  get(id: string): Eventually<Session<P> | undefined> {
    return this.store.get(id)
  }

  private counted(opened: Opened<P> | undefined): Opened<P> | undefined {
    if (!opened) this.counters.add('overCapacity')
    return opened
  }

  /**
   * The client messages that mean the same over a socket and a poll POST: subscribe,
   * unsubscribe, ack, refresh. Others are the transport's business and are ignored here.
   */
  apply(session: Session<P>, message: ClientMessage, report: Report): void {
    session.touch()
    switch (message.type) {
      case 'subscribe':
        return this.refused(session.subscribe(message.events), report)
      case 'unsubscribe':
        return session.unsubscribe(message.events)
      case 'ack':
        return this.ack(session, message.seq)
      case 'refresh':
        return void this.refresh(session, report)
      default:
        return
    }
  }

  /** Report the patterns a `hello`, `subscribe` or poll could not take. */
  refused(refused: Refused, report: Report): void {
    if (refused.invalid.length > 0) report(ErrorCode.BAD_REQUEST, `invalid subscription pattern ${quoted(refused.invalid)}`)
    if (refused.overLimit.length > 0) {
      report(ErrorCode.LIMIT, `at most ${this.settings.maxPatternsPerSession} patterns per session; not subscribed: ${quoted(refused.overLimit)}`)
    }
  }

  private ack(session: Session<P>, seq: number): void {
    if (!this.settings.onAck || seq < 1 || seq > session.seq) return
    const entry = session.find(seq)
    if (!(entry instanceof Promise)) return this.acked(session, seq, entry)
    entry.then(
      (e) => this.acked(session, seq, e),
      (error) => reportFailure(this.settings.onError, error, `reading the acked event ${seq} failed`),
    )
  }

  private acked(session: Session<P>, seq: number, entry: Entry | undefined): void {
    const item: SnapshotEvent | undefined = entry ? { event: entry.item.event, data: entry.item.data } : undefined
    try {
      this.settings.onAck?.(session, seq, item)
    } catch (error) {
      this.settings.onError(error, 'onAck threw')
    }
  }

  /**
   * Answer `refresh`: the `snapshot` hook's events go to this session like published ones. One
   * runs at a time per session; a `refresh` that arrives meanwhile runs once more afterwards.
   */
  async refresh(session: Session<P>, report: Report): Promise<void> {
    const { snapshot } = this.settings
    if (!snapshot) return
    if (session.refreshing) {
      session.refreshAgain = true
      return
    }
    session.refreshing = true
    try {
      do {
        session.refreshAgain = false
        const events = await snapshot(session)
        if (this.closed) return
        for (const e of events) {
          if (isValidEventName(e.event)) this.offer(session, prepare(e.event, e.data, false))
          else this.settings.onError(new TypeError(`invalid event name ${JSON.stringify(String(e.event)).slice(0, 80)}`), 'snapshot')
        }
      } while (session.refreshAgain)
    } catch (error) {
      this.settings.onError(error, 'snapshot threw')
      report(ErrorCode.REFRESH_FAILED, 'the server could not produce the current state')
    } finally {
      session.refreshing = session.refreshAgain = false
    }
  }

  close(): Eventually<void> {
    this.closed = true
    return this.store.close()
  }
}
