/**
 * One connection per browser (`shareAcrossTabs`). Every tab of the origin that uses the same link
 * (url without its query string, and `dedupeKey`) has a `TabLink`, which its handles use exactly
 * as they would use a `Connection`. The tabs elect a leader with a Web Lock named after the link:
 * the holder runs the one real `Connection` and relays what it says (status, events, resync,
 * errors, with a stats snapshot) over a `BroadcastChannel` of the same name. Every tab, the
 * leader's included, takes those messages through the same path: each tab drops the seqs it has
 * already delivered and the events none of its own patterns match, and numbers the rest 1, 2, ...
 * (the session's seqs also count the other tabs' events), so its handles see what a private
 * connection would have given them.
 *
 * The other way, each tab tells the leader its patterns (the leader holds, per tab, a reference on
 * each, so the server sees the union), its acks (see ./acks.ts: the leader acks each event once, at
 * the first tab that delivered it) and its `refresh()` and `reconnect()` calls. A tab keeps its
 * `refresh()` until the leader confirms it (`took`), and sends it again to the next leader.
 *
 * Every `CHECK / 2` ms the leader asks the tabs whether they are there (`who`, which tells them
 * that it is); each answers with its patterns. A tab that misses two rounds in a row crashed: its
 * patterns leave the union. A frozen tab still answers (a frozen page runs its channel's handlers,
 * though not its timers nor its socket), so it keeps its patterns, and the events they bring.
 *
 * Hand-over: when the leader tab closes or crashes, the browser releases its lock and the next tab
 * in the queue leads. It announces itself (`lead`), every tab answers with its patterns and the
 * last seq it delivered, and after a short gathering the new leader resumes the same session from
 * the lowest of those seqs: the server replays what followed, and each tab drops what it had. A
 * frozen leader keeps its lock: a tab that heard nothing from the leader for `CHECK` ms probes it,
 * and takes the lock (`steal`) when no answer comes within `GRACE` ms. The leader answers the other
 * tabs (probes, newcomers, refreshes) from a timer, never from the channel's handler: a frozen
 * leader, whose handler still runs but whose socket does not, must look silent. A leader that finds
 * its lock taken (or another leader announced) steps down and queues as a follower again.
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
import { LeaderAcks } from './acks.js'

/** A follower that heard nothing from the leader this long probes it, ms. */
export const CHECK = 5000
/** A probed leader that does not answer within this (plus up to 50% jitter) loses its lock, ms. */
export const GRACE = 2000
/** How long a new leader collects the other tabs' positions before it connects, ms. */
export const GATHER = 100
/** A tab that answered none of the leader's last this many rounds (`CHECK / 2` ms each) is dropped. */
export const MISSED = 2
/** The acks above the leader's watermark that a tab keeps for the next leader, at most. */
const MAX_RECENT = 100

/** What crosses the channel. `L`: the leadership that sent it (a leader's messages only). */
export type TabMessage =
  /**
   * A tab's patterns and the last event it delivered: on joining, on every change, and in answer to
   * `lead` (with `a`, the acks it sent above the last leader's watermark) and `who`.
   */
  | { t: 'tab'; tab: string; p: string[]; s: string | null; n: number | null; a?: number[] }
  | { t: 'leave'; tab: string }
  /** The tab delivered event `seq` of session `s`, which asks for an ack (or had delivered it before). */
  | { t: 'ack'; tab: string; s: string | null; seq: number }
  /** `refresh()` in a tab, until a leader confirms it with `took`. */
  | { t: 'refresh'; tab: string; id: string }
  | { t: 'reconnect' | 'probe' }
  | { t: 'lead'; L: string }
  /** The leader's round (`k`, `s`: its watermark, as on `ev`). */
  | { t: 'who'; L: string; s: string | null; k: number }
  | { t: 'took'; L: string; tab: string; id: string }
  | { t: 'st'; L: string; v: Status; st: Stats }
  /** `k`: the leader's watermark (./acks.ts): every ack-event of session `s` up to it has had its ack. */
  | { t: 'ev'; L: string; v: InboundEvent; s: string | null; k: number; st: Stats }
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
  /**
   * Events of `#session` this tab delivered. Its handles see them numbered 1, 2, ... (`meta.seq`),
   * as a connection of its own would number them: the session's seqs also count the events that
   * only other tabs wanted, which would look like holes here.
   */
  #count = 0
  /** The leadership this tab follows, and the last stats snapshot it sent. */
  #leader: string | undefined
  #snap: Stats = newStats()
  /** Counters of the leaderships before the current one, and this tab's own `messages`. */
  readonly #base = newStats()
  #wasUp = false
  #handover = false
  /** A `refresh()` no leader has confirmed yet. */
  #refresh: string | undefined
  /** The acks this tab sent (of `#session`) above the leader's watermark. */
  #recent: number[] = []

  // when this tab leads
  #L: string | undefined
  #link: Connection | undefined
  #release: (() => void) | undefined
  #gather: ReturnType<typeof setTimeout> | undefined
  /** Each tab's patterns (this one's included), and the rounds each other tab has been silent for. */
  readonly #tabs = new Map<string, string[]>()
  readonly #silent = new Map<string, number>()
  #ticks = 0
  #positions: [string | null, number | null][] = []
  #acks: LeaderAcks | undefined
  #refreshWanted = false
  /** Answers to the other tabs, due at the next `#answer` timer: a status, refreshes taken (by tab). */
  #answerTimer: ReturnType<typeof setTimeout> | undefined
  #statusDue = false
  readonly #took = new Map<string, string>()
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
    this.#refresh = newId()
    this.#toLeader({ t: 'refresh', tab: this.#tab, id: this.#refresh })
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
    this.#L = this.#link = this.#acks = undefined
    clearTimeout(this.#gather)
    clearTimeout(this.#answerTimer)
    this.#answerTimer = undefined
    this.#statusDue = false
    this.#took.clear()
    link?.detach(this.#relay, [], ['*'])
    this.#release?.()
    this.#release = undefined
  }

  // ---- following ----

  #post(m: TabMessage): void {
    this.#channel?.postMessage(m)
  }

  /** This tab's patterns and position, to the leader; to a new one, with the acks the last one may not have sent. */
  #announce(acks = false): void {
    this.#patterns = this.#subs.list()
    const m: TabMessage = { t: 'tab', tab: this.#tab, p: this.#patterns, s: this.#session, n: this.#last }
    if (acks && this.#recent.length > 0) m.a = this.#recent
    this.#toLeader(m)
  }

  #toLeader(m: TabMessage): void {
    if (this.#L) this.#forLeader(m)
    else this.#post(m)
  }

  /** A silent leader is probed; one that stays silent loses the lock. A leader holds a round every other tick. */
  #check(): void {
    if (this.#L) {
      if (++this.#ticks % 2 === 0) this.#round(this.#L)
      return
    }
    if (this.#deadline !== undefined || Date.now() - this.#heard < CHECK) return
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
    // the acks a leader has sent (even one that just stepped down) need not go to the next one
    if ('k' in m && m.s === this.#session && this.#recent.length > 0) this.#recent = this.#recent.filter((seq) => seq > m.k)
    if (m.L !== this.#leader) {
      // a former leader's last words (a frozen one that woke up) are not news
      if (m.t !== 'lead' && this.#leader !== undefined) return
      if (this.#L) this.#stepDown()
      this.#follow(m.L)
      this.#announce(true)
      // a refresh the last leader may not have taken goes to this one
      if (this.#refresh) this.#post({ t: 'refresh', tab: this.#tab, id: this.#refresh })
    } else if (m.t === 'who') this.#announce()
    this.#heard = Date.now()
    clearTimeout(this.#deadline)
    this.#deadline = undefined
    if (m.t === 'took' && m.tab === this.#tab && m.id === this.#refresh) this.#refresh = undefined
    this.#receive(m)
  }

  /**
   * A resync in this tab's numbering, or none when this tab already had every event of the hole
   * (it was ahead of the tab the session resumed from). A tab that wants every event lost exactly
   * the rest of the hole, and its numbering skips it as a connection of its own would; a tab with
   * patterns cannot know how many of the hole's events were its own (`to`, `missed` unknown).
   */
  #numbered(info: ResyncInfo): ResyncInfo | undefined {
    const last = this.#last ?? 0
    if (info.to !== null && last >= info.to) return undefined
    const from = this.#count + 1
    if (info.to === null || this.#patterns.length > 0) return { reason: info.reason, from, to: null, missed: null }
    const missed = info.to - Math.max(info.from - 1, last)
    this.#count += missed
    return { reason: info.reason, from, to: this.#count, missed }
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
      const had = m.s === this.#session && this.#last !== null && e.seq <= this.#last
      if (m.s !== this.#session) {
        this.#recent = []
        this.#count = 0
      }
      if (!had) {
        this.#session = m.s
        this.#last = e.seq
      }
      if (this.#patterns.length > 0 && !this.#patterns.some((p) => matchPattern(p, e.event))) return
      if (!had) {
        this.#base.messages++
        this.#handles.event({ ...e, seq: ++this.#count })
      }
      // after its listeners ran; one delivered before (sent again after a hand-over) is acked
      // again, as a connection acks a duplicate: the ack may have gone to a leader that is gone
      if (e.ack) this.#ack(m.s, e.seq)
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
      const info = this.#numbered(m.v)
      if (info) this.#handles.tell('resync', info)
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

  #ack(s: string | null, seq: number): void {
    if (!this.#L) {
      if (this.#recent.length >= MAX_RECENT) this.#recent.shift()
      this.#recent.push(seq)
    }
    this.#toLeader({ t: 'ack', tab: this.#tab, s, seq })
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
    this.#silent.clear()
    this.#tabs.set(this.#tab, effective(this.#patterns))
    this.#positions = []
    const acks = (this.#acks = new LeaderAcks())
    // the acks this tab gave the last leader, which may not have sent them
    for (const seq of this.#recent) acks.ack(this.#session, seq)
    this.#recent = []
    this.#refreshWanted = this.#refresh !== undefined
    this.#refresh = undefined
    this.#post({ t: 'lead', L })
    if (this.#peers) this.#gather = setTimeout(() => this.#connect(), GATHER)
    else this.#connect()
    return new Promise((resolve) => (this.#release = resolve))
  }

  /** Open the one connection, resuming the session the tabs share from the lowest seq any of them delivered. */
  #connect(): void {
    // the link acks nothing by itself: each event is acked once a tab delivered it
    const link = (this.#link = new Connection(this.#config, () => {}, true))
    let session = this.#session
    let last = this.#last
    for (const [s, n] of this.#positions) {
      session ??= s
      if (s === session && n !== null && (last === null || n < last)) last = n
    }
    if (session !== null && last !== null) link.resumeFrom(session, last)
    this.#acks?.start(link, session, last)
    // held by the link until its `welcome`
    if (this.#refreshWanted) link.refresh()
    this.#refreshWanted = false
    this.#positions = []
    for (const patterns of this.#tabs.values()) link.subscribe(patterns)
    link.route(this.#relay, '*', true)
    link.attach(this.#relay)
  }

  /** A message for the leader. */
  #forLeader(m: TabMessage): void {
    const link = this.#link
    if (m.t === 'tab') {
      const before = this.#tabs.get(m.tab)
      const next = effective(m.p)
      this.#tabs.set(m.tab, next)
      if (!link) this.#positions.push([m.s, m.n])
      if (m.a) for (const seq of m.a) this.#acks?.ack(m.s, seq)
      this.#resubscribe(before ?? [], next)
      // a tab new to this leader learns the link's status
      if (!before && m.tab !== this.#tab) this.#answer(true)
    } else if (m.t === 'leave') this.#drop(m.tab)
    else if (m.t === 'ack') this.#acks?.ack(m.s, m.seq)
    else if (m.t === 'refresh') {
      if (link) link.refresh()
      else this.#refreshWanted = true
      if (m.tab === this.#tab) this.#refresh = undefined
      else {
        this.#took.set(m.tab, m.id)
        this.#answer(false)
      }
    } else if (m.t === 'reconnect') link?.reconnect()
    else if (m.t === 'probe') this.#answer(true)
    if ('tab' in m && this.#tabs.has(m.tab)) this.#silent.set(m.tab, 0)
  }

  /**
   * Answer the other tabs (with the link's status when `status`, and the refreshes taken) from a
   * timer: a frozen page still runs its channel's handlers, but not its timers nor its socket, so
   * a frozen leader gives no answer, and a tab that probes it takes over.
   */
  #answer(status: boolean): void {
    this.#statusDue ||= status
    this.#answerTimer ??= setTimeout(() => {
      this.#answerTimer = undefined
      const L = this.#L
      if (!L) return
      if (this.#statusDue) this.#status()
      this.#statusDue = false
      for (const [tab, id] of this.#took) this.#post({ t: 'took', L, tab, id })
      this.#took.clear()
    }, 0)
  }

  /** Ask the tabs whether they are there; a tab that missed `MISSED` rounds in a row crashed, and its patterns go. */
  #round(L: string): void {
    for (const tab of this.#tabs.keys()) {
      if (tab === this.#tab) continue
      const silent = (this.#silent.get(tab) ?? 0) + 1
      if (silent > MISSED) this.#drop(tab)
      else this.#silent.set(tab, silent)
    }
    this.#post({ t: 'who', L, s: this.#session, k: this.#acks?.done(this.#last ?? 0) ?? 0 })
  }

  #drop(tab: string): void {
    this.#resubscribe(this.#tabs.get(tab) ?? [], [])
    this.#tabs.delete(tab)
    this.#silent.delete(tab)
  }

  /** Whether some tab's patterns match `event`. */
  #wanted(event: string): boolean {
    for (const patterns of this.#tabs.values()) if (patterns.some((p) => matchPattern(p, event))) return true
    return false
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
    if (kind === 'event') {
      const e = value as InboundEvent
      // before this tab delivers it (and acks it, at once)
      const acks = this.#acks
      if (e.ack) acks?.relayed(e.seq, this.#wanted(e.event))
      m = { t: 'ev', L, v: e, s: link.session, k: acks?.done(e.seq) ?? e.seq, st }
    } else if (kind === 'status') m = { t: 'st', L, v: value as Status, st }
    else if (kind === 'resync') m = { t: 'rs', L, v: value as ResyncInfo, st }
    else {
      const e = value as RealtimeError
      m = { t: 'er', L, v: [e.code, e.message, e.event, e.seq, e.serverCode], st }
    }
    this.#post(m)
    this.#receive(m)
  }
}
