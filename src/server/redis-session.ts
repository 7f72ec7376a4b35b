/**
 * A session of a Redis store, as one instance sees it. Every instance keeps one for every live
 * session of the store (its patterns and principal, for `publish` to pick sessions), kept current
 * by the store's channel; the seq counter and the replay buffer are in Redis only. Transports
 * attach to it on the instance their client reached, and it hands them the events the channel
 * announces for it, in seq order.
 */
import type { SessionState } from './redis-bus.js'
import type { Entry } from './replay-buffer.js'
import { type Missed, Session, type SessionLimits, type Sink } from './session.js'
import type { Published } from './wire.js'

/** What a session asks of its store. */
export interface SessionHost<P extends object> {
  /** Issue a seq for `item` in this session (batched with the other sessions of the same publish). */
  enqueue(session: RedisSession<P>, item: Published): void
  read(session: RedisSession<P>, after: number): Promise<Missed>
  entry(session: RedisSession<P>, seq: number): Promise<Entry | undefined>
  /** Push its expiry forward: `sessionTtl` from now, or further while a transport is attached here. */
  touch(session: RedisSession<P>): void
  /** Write its patterns or principal through. */
  save(session: RedisSession<P>, what: 'patterns' | 'principal'): void
}

/** Events announced while a resume is read from Redis: they may come after what the read saw. */
export interface Recorder {
  entries: Entry[]
  /** More than `limit` arrived: the resume fails (the client tries again). */
  overflow: boolean
  limit: number
}

export class RedisSession<P extends object> extends Session<P> {
  /** Version of the patterns and principal applied here (Redis counts it up at each change). */
  version = 0
  /** Generation of the store the session was born in (`forgetSessions` starts a new one). */
  generation = 0
  /** Patterns and principal as last written or read, JSON: an unchanged one is not written again. */
  savedPatterns = '[]'
  savedPrincipal = ''
  private recorders: Set<Recorder> | undefined

  constructor(
    id: string,
    limits: SessionLimits,
    private readonly host: SessionHost<P>,
  ) {
    super(id, limits, undefined)
  }

  give(item: Published): void {
    this.host.enqueue(this, item)
  }

  since(after: number): Promise<Missed> {
    return this.host.read(this, after)
  }

  find(seq: number): Promise<Entry | undefined> {
    return this.host.entry(this, seq)
  }

  /** Expiry is Redis's: `publish` offers the event, and the script skips a session that is gone. */
  override expired(): boolean {
    return false
  }

  /** While a transport is attached here, this instance keeps the session alive anyway. */
  override touch(): void {
    super.touch()
    if (!this.attached) this.host.touch(this)
  }

  override attachSocket(sink: Sink): void {
    const was = this.attached
    super.attachSocket(sink)
    if (!was) this.host.touch(this)
  }

  override attachPoll(sink: Sink): void {
    const was = this.attached
    super.attachPoll(sink)
    if (!was) this.host.touch(this)
  }

  /** A resume of it is being read from Redis. */
  get resuming(): boolean {
    return this.recorders !== undefined && this.recorders.size > 0
  }

  /** Whether an event for it is handed on here (a transport is attached, or a resume listens). */
  get listening(): boolean {
    return this.attached || this.resuming
  }

  /** An event the channel announced for this session, in seq order. */
  accept(seq: number, item: Published): void {
    if (seq > this.seq) this.seq = seq
    for (const r of this.recorders ?? []) {
      if (r.entries.length >= r.limit) r.overflow = true
      else r.entries.push({ seq, item })
    }
    this.deliver(seq, item)
  }

  /** Start keeping the events announced from now on (for a resume being read). */
  record(limit: number): Recorder {
    const recorder: Recorder = { entries: [], overflow: false, limit }
    ;(this.recorders ??= new Set()).add(recorder)
    return recorder
  }

  stopRecording(recorder: Recorder): void {
    this.recorders?.delete(recorder)
  }

  /** Take a state read from Redis or announced on the channel, unless a newer one is applied. */
  update(state: SessionState): void {
    if (state.seq > this.seq) this.seq = state.seq
    this.generation = state.generation
    if (state.version <= this.version) return
    this.version = state.version
    if (state.patterns !== this.savedPatterns) {
      this.savedPatterns = state.patterns
      this.subscriptions.replace(parseList(state.patterns))
    }
    if (state.principal !== this.savedPrincipal) {
      this.savedPrincipal = state.principal
      this.principal = parsePrincipal<P>(state.principal)
    }
  }

  protected override saved(what: 'patterns' | 'principal'): void {
    this.host.save(this, what)
  }
}

function parsePrincipal<P>(json: string): P | undefined {
  try {
    return json === '' ? undefined : (JSON.parse(json) as P)
  } catch {
    return undefined
  }
}

/** A JSON array of strings; anything else is no pattern. */
function parseList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json)
    return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : []
  } catch {
    return []
  }
}
