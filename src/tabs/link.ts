/**
 * One connection per browser (`shareAcrossTabs`). Every tab of the origin that uses the same link
 * (url without its query string, and `dedupeKey`) has a `TabLink`, which its handles use exactly
 * as they would use a `Connection`. The tabs elect a leader with a Web Lock named after the link:
 * the holder runs the one real `Connection` and relays what it says (status, events, resync,
 * errors, with a stats snapshot) over a `BroadcastChannel` of the same name. Every tab, the
 * leader's included, takes those messages through the same path: each tab drops the seqs it has
 * already delivered and the events none of its own patterns match, so its handles see what a
 * private connection would have given them.
 *
 * The other way, each tab tells the leader its patterns (the leader holds, per tab, a reference on
 * each, so the server sees the union) and forwards `refresh()` and `reconnect()`.
 *
 * Hand-over: when the leader tab closes or crashes, the browser releases its lock and the next tab
 * in the queue leads. It announces itself (`lead`), every tab answers with its patterns and the
 * last seq it delivered, and after a short gathering the new leader resumes the same session from
 * the lowest of those seqs: the server replays what followed, and each tab drops what it had. A
 * frozen leader keeps its lock: a tab that heard nothing from the leader for `CHECK` ms probes it,
 * and takes the lock (`steal`) when no answer comes within `GRACE` ms. A leader that finds its lock
 * taken (or another leader announced) steps down and queues as a follower again.
 */
import { Connection, newStats } from '../connection.js'
import { RealtimeError, type RealtimeErrorCode, type RealtimeErrorDetails } from '../errors.js'
import { redactUrl } from '../logger.js'
import type { ConnectionConfig } from '../options.js'
import { type ConnectionSink, Handles } from '../handles.js'
import { matchPattern } from '../patterns.js'
import type { InboundEvent } from '../protocol/types.js'
import { Subscriptions } from '../subscriptions.js'
import type { ResyncInfo, Stats, Status } from '../types.js'

/** A follower that heard nothing from the leader this long probes it, ms. */
export const CHECK = 5000
/** A probed leader that does not answer within this (plus up to 50% jitter) loses its lock, ms. */
export const GRACE = 2000
/** How long a new leader collects the other tabs' positions before it connects, ms. */
export const GATHER = 100

/** What crosses the channel. `L`: the leadership that sent it (a leader's messages only). */
export type TabMessage =
  /** A tab's patterns and the last event it delivered: on joining, on every change, and in answer to `lead`. */
  | { t: 'tab'; tab: string; p: string[]; s: string | null; n: number | null }
  | { t: 'leave'; tab: string }
  | { t: 'refresh' | 'reconnect' | 'probe' }
  | { t: 'lead'; L: string }
  | { t: 'st'; L: string; v: Status; st: Stats }
  | { t: 'ev'; L: string; v: InboundEvent; s: string | null; st: Stats }
  | { t: 'rs'; L: string; v: ResyncInfo; st: Stats }
  | { t: 'er'; L: string; v: [RealtimeErrorCode, string, string | undefined, number | undefined, string | undefined]; st: Stats }

type Counter = 'duplicates' | 'gaps' | 'replayed' | 'resyncs' | 'reconnects'
const COUNTERS: Counter[] = ['duplicates', 'gaps', 'replayed', 'resyncs', 'reconnects']

/** The lock and channel name of a link: no token (the query string is cut), no user info. */
export const tabKey = (config: ConnectionConfig, dedupeKey: string): string =>
  `wirefeed:${typeof config.url === 'string' ? redactUrl(config.url) : '()'}#${dedupeKey}`

const newId = (): string => Math.random().toString(36).slice(2)

/** A tab with no pattern wants every event: `**` says so in the union. */
const effective = (patterns: string[]): string[] => (patterns.length > 0 ? patterns : ['**'])

export class TabLink {
  status: Status = 'idle'
  readonly #handles = new Handles()
  /** This tab's patterns, counted over its handles. */
  readonly #subs = new Subscriptions()
  #patterns: string[] = []
  readonly #tab = newId()
  readonly #name: string
  readonly #config: ConnectionConfig
  readonly #onClosed: () => void
  #channel: BroadcastChannel | undefined
  #abort: AbortController | undefined
  #watch: ReturnType<typeof setInterval> | undefined
  #deadline: ReturnType<typeof setTimeout> | undefined
  #heard = 0
  /** Another tab was ever heard from (a new leader then waits for positions). */
  #peers = false

  // what this tab delivered
  #session: string | null = null
  #last: number | null = null
  /** The leadership this tab follows, and the last stats snapshot it sent. */
  #leader: string | undefined
  #snap: Stats = newStats()
  /** Counters of the leaderships before the current one, and this tab's own `messages`. */
  readonly #base = newStats()
  #wasUp = false
  #handover = false

  // when this tab leads
  #L: string | undefined
  #link: Connection | undefined
  #release: (() => void) | undefined
  #gather: ReturnType<typeof setTimeout> | undefined
  readonly #tabs = new Map<string, string[]>()
  #positions: [string | null, number | null][] = []
  readonly #relay: ConnectionSink = (kind, value) => this.#relayed(kind, value)

  constructor(config: ConnectionConfig, dedupeKey: string, onClosed: () => void) {
    this.#config = config
    this.#name = tabKey(config, dedupeKey)
    this.#onClosed = onClosed
  }

  get closed(): boolean {
    return this.status === 'closed'
  }

  /** The leader link's counters, carried over hand-overs; `messages`: the events this tab delivered. */
  get stats(): Stats {
    // the leader reads its link's counters live (rtt changes with no message to relay)
    const s = { ...(this.#link?.stats ?? this.#snap), messages: this.#base.messages }
    for (const c of COUNTERS) s[c] += this.#base[c]
    return s
  }

  /** Whether this tab holds the shared connection (for diagnostics and tests). */
  get leader(): boolean {
    return this.#link !== undefined
  }

  attach(sink: ConnectionSink): void {
    this.#handles.add(sink)
    if (this.status === 'idle') this.#start()
    else sink('status', this.status)
  }

  route(sink: ConnectionSink, name: string, on: boolean): void {
    this.#handles.route(sink, name, on)
  }

  detach(sink: ConnectionSink, patterns: Iterable<readonly string[]>, names: Iterable<string>): void {
    this.#handles.remove(sink, names)
    if (this.#handles.size === 0) return this.#shutdown()
    for (const p of patterns) this.unsubscribe(p)
  }

  subscribe(patterns: readonly string[]): void {
    if (this.#subs.add(patterns).length > 0) this.#announce()
  }

  unsubscribe(patterns: readonly string[]): void {
    if (this.#subs.remove(patterns).length > 0) this.#announce()
  }

  refresh(): void {
    this.#toLeader({ t: 'refresh' })
  }

  reconnect(): void {
    this.#toLeader({ t: 'reconnect' })
  }

  // ---- life cycle ----

  #start(): void {
    this.#setStatus('connecting')
    const channel = (this.#channel = new BroadcastChannel(this.#name))
    channel.onmessage = (e: MessageEvent<TabMessage>) => this.#onMessage(e.data)
    this.#heard = Date.now()
    // checked four times per CHECK: a silent leader is probed at most CHECK * 1.25 after it went quiet
    this.#watch = setInterval(() => this.#check(), CHECK / 4)
    this.#announce()
    this.#request(false)
  }

  /** Queue for the lock (or take it from a leader that stopped answering). */
  #request(steal: boolean): void {
    this.#abort?.abort()
    const abort = (this.#abort = new AbortController())
    navigator.locks.request(this.#name, steal ? { steal } : { signal: abort.signal }, () => this.#lead()).catch(() => {
      // aborted by this tab (closing, or queueing again), or the lock was taken from this leader
      if (abort !== this.#abort || this.closed) return
      this.#stepDown()
      this.#request(false)
    })
  }

  #shutdown(): void {
    if (this.closed) return
    if (!this.#L) this.#post({ t: 'leave', tab: this.#tab })
    this.#stepDown()
    this.#abort?.abort()
    clearInterval(this.#watch)
    clearTimeout(this.#deadline)
    this.#channel?.close()
    this.#channel = undefined
    this.#setStatus('closed')
    this.#onClosed()
  }

  /** No longer lead: the socket closes (its session stays resumable) and the lock goes to the next tab. */
  #stepDown(): void {
    const link = this.#link
    if (this.#L) this.#unfollow()
    this.#L = this.#link = undefined
    clearTimeout(this.#gather)
    link?.detach(this.#relay, [], ['*'])
    this.#release?.()
    this.#release = undefined
  }

  // ---- following ----

  #post(m: TabMessage): void {
    this.#channel?.postMessage(m)
  }

  /** This tab's patterns and position, to the leader. */
  #announce(): void {
    this.#patterns = this.#subs.list()
    this.#toLeader({ t: 'tab', tab: this.#tab, p: this.#patterns, s: this.#session, n: this.#last })
  }

  #toLeader(m: TabMessage): void {
    if (this.#L) this.#forLeader(m)
    else this.#post(m)
  }

  /** A silent leader is probed; one that stays silent loses the lock. */
  #check(): void {
    if (this.#L || this.#deadline !== undefined || Date.now() - this.#heard < CHECK) return
    this.#post({ t: 'probe' })
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined
      if (!this.#L && !this.closed) this.#request(true)
    }, GRACE * (1 + Math.random() / 2))
  }

  #onMessage(m: TabMessage): void {
    this.#peers = true
    if (!('L' in m)) {
      if (this.#L) this.#forLeader(m)
      return
    }
    if (m.L !== this.#leader) {
      // a former leader's last words (a frozen one that woke up) are not news
      if (m.t !== 'lead' && this.#leader !== undefined) return
      if (this.#L) this.#stepDown()
      this.#follow(m.L)
      this.#announce()
    }
    this.#heard = Date.now()
    clearTimeout(this.#deadline)
    this.#deadline = undefined
    this.#receive(m)
  }

  /** A new leadership: the previous one's counters are kept, and its link counts as lost. */
  #follow(L: string): void {
    this.#unfollow()
    this.#leader = L
  }

  /** The leadership this tab followed is over (this tab stopped leading, or another tab leads). */
  #unfollow(): void {
    if (this.#leader === undefined) return
    for (const c of COUNTERS) this.#base[c] += this.#snap[c]
    this.#handover ||= this.#wasUp
    this.#leader = undefined
    this.#snap = newStats()
  }

  /** What the leader's link said, in every tab (the leader's own included). */
  #receive(m: TabMessage): void {
    if (!('st' in m)) return
    this.#snap = m.st
    if (m.t === 'ev') {
      const e = m.v
      if (m.s === this.#session && this.#last !== null && e.seq <= this.#last) return
      this.#session = m.s
      this.#last = e.seq
      if (this.#patterns.length > 0 && !this.#patterns.some((p) => matchPattern(p, e.event))) return
      this.#base.messages++
      this.#handles.event(e)
    } else if (m.t === 'st') {
      let v = m.v
      if (v === 'closed') return this.#shutdown()
      if (v === 'connecting' && this.#wasUp) v = 'reconnecting'
      if (v === 'open' || v === 'polling') {
        this.#wasUp = true
        if (this.#handover) this.#base.reconnects++
        this.#handover = false
      }
      this.#setStatus(v)
    } else if (m.t === 'rs') {
      this.#handles.tell('resync', m.v)
    } else {
      const [code, message, event, seq, serverCode] = m.v
      const details: RealtimeErrorDetails = {}
      if (event !== undefined) details.event = event
      if (seq !== undefined) details.seq = seq
      if (serverCode !== undefined) details.serverCode = serverCode
      const error = new RealtimeError(code, message, details)
      this.#handles.tell('error', error)
    }
  }

  #setStatus(status: Status): void {
    if (status === this.status) return
    this.status = status
    this.#handles.tell('status', status)
  }

  // ---- leading ----

  /** The lock is this tab's: lead until it steps down. */
  #lead(): Promise<void> {
    if (this.closed) return Promise.resolve()
    const L = (this.#L = newId())
    this.#follow(L)
    this.#tabs.clear()
    this.#tabs.set(this.#tab, effective(this.#patterns))
    this.#positions = []
    this.#post({ t: 'lead', L })
    if (this.#peers) this.#gather = setTimeout(() => this.#connect(), GATHER)
    else this.#connect()
    return new Promise((resolve) => (this.#release = resolve))
  }

  /** Open the one connection, resuming the session the tabs share from the lowest seq any of them delivered. */
  #connect(): void {
    const link = (this.#link = new Connection(this.#config, () => {}))
    let session = this.#session
    let last = this.#last
    for (const [s, n] of this.#positions) {
      session ??= s
      if (s === session && n !== null && (last === null || n < last)) last = n
    }
    if (session !== null && last !== null) link.resumeFrom(session, last)
    this.#positions = []
    for (const patterns of this.#tabs.values()) link.subscribe(patterns)
    link.route(this.#relay, '*', true)
    link.attach(this.#relay)
  }

  /** A message for the leader. */
  #forLeader(m: TabMessage): void {
    const link = this.#link
    if (m.t === 'tab') {
      const next = effective(m.p)
      const before = this.#tabs.get(m.tab) ?? []
      this.#tabs.set(m.tab, next)
      if (!link) this.#positions.push([m.s, m.n])
      this.#resubscribe(before, next)
      if (m.tab !== this.#tab) this.#status()
    } else if (m.t === 'leave') {
      this.#resubscribe(this.#tabs.get(m.tab) ?? [], [])
      this.#tabs.delete(m.tab)
    } else if (m.t === 'refresh') link?.refresh()
    else if (m.t === 'reconnect') link?.reconnect()
    else if (m.t === 'probe') this.#status()
  }

  #resubscribe(before: string[], next: string[]): void {
    const added = next.filter((p) => !before.includes(p))
    const removed = before.filter((p) => !next.includes(p))
    if (added.length > 0) this.#link?.subscribe(added)
    if (removed.length > 0) this.#link?.unsubscribe(removed)
  }

  /** The link's status, for a tab that joined or probed. */
  #status(): void {
    if (this.#L) this.#post({ t: 'st', L: this.#L, v: this.#link?.status ?? 'connecting', st: { ...(this.#link?.stats ?? newStats()) } })
  }

  /** The leader's link said something: to the other tabs, and to this one. */
  #relayed(kind: Parameters<ConnectionSink>[0], value: unknown): void {
    const link = this.#link
    const L = this.#L
    if (!link || !L) return
    const st = { ...link.stats }
    let m: TabMessage
    if (kind === 'event') m = { t: 'ev', L, v: value as InboundEvent, s: link.session, st }
    else if (kind === 'status') m = { t: 'st', L, v: value as Status, st }
    else if (kind === 'resync') m = { t: 'rs', L, v: value as ResyncInfo, st }
    else {
      const e = value as RealtimeError
      m = { t: 'er', L, v: [e.code, e.message, e.event, e.seq, e.serverCode], st }
    }
    this.#post(m)
    this.#receive(m)
  }
}
