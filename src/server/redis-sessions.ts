/**
 * The Redis store, one per server instance (the idea is in redis-store.ts, what lives in Redis in
 * redis-scripts.ts).
 *
 * Who issues seqs: the instance that publishes. It picks the sessions an event goes to on its own
 * copy of every live session (patterns and principal, kept current by the channel), and one script
 * issues their seqs, appends the event to their streams and announces it. So an event gets at most
 * one seq per session whatever the number of instances; a session attached nowhere still buffers
 * it; and every instance hears the announcements in the order the seqs were issued, which is the
 * order the sessions attached to it deliver them in. A session created or changed on one instance
 * is seen by the others one channel message later; on its own instance, at once.
 *
 * A resume reads the session and what it missed in one script. Events announced while that read
 * is under way were issued before it or after it: those with a seq above the head it read follow
 * the replay, and the transport drops any it has already sent.
 *
 * What an instance knows of the others comes from the channel. When that link drops, messages are
 * lost: the transports attached here are dropped (their clients resume from Redis, losing nothing),
 * and every session is read again once the link is back. While Redis cannot be reached, publishes,
 * resumes and replays fail: reported to `onError`, and to the clients concerned as an internal
 * error (1011, HTTP 500), after which they retry.
 */
import type { Settings } from './options.js'
import { parseMessage, type SessionState, type StreamEntry, toEntry } from './redis-bus.js'
import { RedisLink } from './redis-link.js'
import { CLEAR, CREATE, ISSUE, type Keys, keysOf, LOAD, READ, RESUME, SAVE, SWEEP, TOUCH } from './redis-scripts.js'
import { RedisSession, type SessionHost } from './redis-session.js'
import type { RedisStoreSettings } from './redis-store.js'
import type { Entry } from './replay-buffer.js'
import { type Missed, newSessionId } from './session.js'
import { type Opened, reportFailure, type Store } from './store.js'
import type { Published } from './wire.js'

/** Deliveries (one event to one session) per publish script, at most: a larger fan-out takes several, in order. */
const MAX_BATCH = 500
/** Sessions per keep-alive script. */
const TOUCH_CHUNK = 500
/** Expired sessions one sweep takes out of the index, at most. */
const SWEEP_LIMIT = 1000
/** State messages kept while the sessions are read; past it, they are read once more. */
const MAX_BACKLOG = 100_000
/** Session ids as `newSessionId` makes them; others are unknown without asking Redis. */
const SESSION_ID = /^s-[\w-]{1,64}$/
/** Wait before reading the sessions again after a failed attempt, ms. */
const RELOAD_RETRY = 500
/**
 * How far ahead an attached session's expiry is kept, at least, ms. Its instance renews it every
 * third of that (at most every 10 s), so a busy instance does not lose a session its client is on,
 * whatever `sessionTtl`; were the instance to die, its sessions would expire that long after.
 */
const ATTACHED_TTL = 30_000

const clamp = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), max)

/** The events of one or more publishes not sent to Redis yet, each with its sessions, in order. */
interface Batch {
  items: Map<Published, string[]>
  size: number
}

/** RESUME's answer (redis-scripts.ts). */
type ResumeReply = [0] | [1] | [2 | 3, number, number, string, string, string, StreamEntry[]?]

export class RedisSessions<P extends object> implements Store<P>, SessionHost<P> {
  readonly ready: Promise<void>
  private readonly sessions = new Map<string, RedisSession<P>>()
  private readonly keys: Keys
  private readonly link: RedisLink
  private batch: Batch | undefined
  /** Generation of the last `forgetSessions()` heard of: older sessions are gone. */
  private generation = 0
  /** State messages heard while the sessions are read, applied after; undefined when none is read. */
  private backlog: string[] | undefined = []
  private loading: Promise<void> | undefined
  private loadAgain = false
  private readonly keeper: ReturnType<typeof setInterval>
  private readonly sweeper: ReturnType<typeof setInterval>
  private retry: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined
  private closed = false
  private overfull = false
  private readonly attachedTtl: number

  constructor(
    private readonly settings: Settings<P>,
    options: RedisStoreSettings,
  ) {
    this.keys = keysOf(options.prefix)
    this.link = new RedisLink(options.url, this.keys.channel, {
      message: (text) => this.heard(text),
      down: () => this.down(),
      up: () => void this.load().catch(() => {}),
      error: (error, context) => settings.onError(error, context),
    })
    this.ready = this.link.ready.then(() => this.load())
    this.ready.catch(() => {}) // seen by whoever awaits it
    const ttl = settings.sessionTtl
    this.attachedTtl = Math.max(ttl, ATTACHED_TTL)
    // Several keep-alives per TTL, so one late or lost does not expire an attached session.
    this.keeper = setInterval(() => this.keepAlive(), Math.min(this.attachedTtl / 3, 10_000))
    this.sweeper = setInterval(() => this.sweep(), clamp(ttl / 2, 50, 30_000))
  }

  /** Live sessions of the store, as known here. */
  get size(): number {
    return this.sessions.size
  }

  values(): IterableIterator<RedisSession<P>> {
    return this.sessions.values()
  }

  async open(id: string | null | undefined, after: number | null | undefined, principal: P | undefined): Promise<Opened<P> | undefined> {
    if (typeof id === 'string' && typeof after === 'number' && SESSION_ID.test(id)) {
      const resumed = await this.resume(id, after, principal)
      if (resumed) return resumed
    }
    return this.create(principal)
  }

  async get(id: string): Promise<RedisSession<P> | undefined> {
    if (!SESSION_ID.test(id)) return undefined
    this.flush()
    const f = await this.link.command<(string | null)[]>(['HMGET', this.keys.session(id), 'v', 'seq', 'g', 'pat', 'pr'])
    const [version, seq, generation, patterns, principal] = f
    if (version === null || version === undefined) {
      this.drop(this.sessions.get(id))
      return undefined
    }
    const state = { id, version: Number(version), seq: Number(seq), generation: Number(generation ?? 0), patterns: patterns ?? '[]', principal: principal ?? '' }
    return this.upsert(state, true)
  }

  clear(): void {
    for (const session of [...this.sessions.values()]) this.drop(session)
    this.flush()
    this.link.run<number>(CLEAR, [this.keys.sessions, this.keys.gen], [this.keys.prefix, this.keys.channel]).then(
      (g) => {
        this.generation = Math.max(this.generation, g)
      },
      (error) => this.failed(error, 'forgetting the sessions failed'),
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.keeper)
    clearInterval(this.sweeper)
    if (this.retry) {
      clearTimeout(this.retry.timer)
      this.retry.wake()
    }
    this.flush()
    for (const session of [...this.sessions.values()]) session.forget()
    this.sessions.clear()
    await this.link.close()
  }

  // ---- what sessions ask (SessionHost) ----

  enqueue(session: RedisSession<P>, item: Published): void {
    if (this.closed) return
    let batch = this.batch
    if (!batch) {
      batch = this.batch = { items: new Map(), size: 0 }
      // Everything published in this task goes in one script (or a few, for a large fan-out).
      queueMicrotask(() => this.flush())
    }
    const ids = batch.items.get(item)
    if (ids) ids.push(session.id)
    else batch.items.set(item, [session.id])
    if (++batch.size >= MAX_BATCH) this.flush()
  }

  async read(session: RedisSession<P>, after: number): Promise<Missed> {
    this.flush()
    const reply = await this.link.run<[number, number?, StreamEntry[]?]>(
      READ,
      [this.keys.session(session.id), this.keys.stream(session.id)],
      [String(after), String(Date.now()), String(this.settings.replayMaxAge)],
    )
    return reply[0] === 2 ? (reply[2] ?? []).map(toEntry) : undefined
  }

  async entry(session: RedisSession<P>, seq: number): Promise<Entry | undefined> {
    this.flush()
    const id = `${seq}-0`
    const got = await this.link.command<StreamEntry[]>(['XRANGE', this.keys.stream(session.id), id, id])
    return got[0] && toEntry(got[0])
  }

  touch(session: RedisSession<P>): void {
    this.touchAll([session.id], session.attached ? this.attachedTtl : this.settings.sessionTtl)
  }

  save(session: RedisSession<P>, what: 'patterns' | 'principal'): void {
    const patterns = what === 'patterns'
    const json = patterns ? JSON.stringify(session.patterns) : this.principalJson(session.principal)
    if (json === (patterns ? session.savedPatterns : session.savedPrincipal)) return
    if (patterns) session.savedPatterns = json
    else session.savedPrincipal = json
    this.flush()
    this.link.run<number | null>(SAVE, [this.keys.session(session.id)], [session.id, patterns ? 'pat' : 'pr', json, this.keys.channel]).then(
      (version) => {
        if (version === null) this.drop(session)
        else session.version = Math.max(session.version, version)
      },
      (error) => this.failed(error, `saving the ${what} of a session failed`),
    )
  }

  // ---- opening sessions ----

  /** Resume `id` as RESUME decides; undefined when a new session is needed instead. */
  private async resume(id: string, after: number, principal: P | undefined): Promise<Opened<P> | undefined> {
    this.flush()
    const known = this.sessions.get(id)
    const session = known ?? new RedisSession<P>(id, this.settings, this)
    // Listen to it while the read is under way, in case it is live (messages name it by id).
    if (!known) this.sessions.set(id, session)
    const recorder = session.record(this.settings.maxQueue)
    const pr = this.principalJson(principal)
    /** Take back the copy made for this resume, unless something else uses it meanwhile. */
    const unlisten = (): void => {
      if (!known && this.sessions.get(id) === session && !session.listening) this.sessions.delete(id)
    }
    let reply: ResumeReply
    try {
      reply = await this.link.run<ResumeReply>(
        RESUME,
        [this.keys.session(id), this.keys.stream(id), this.keys.sessions],
        [id, String(after), String(Date.now()), String(this.settings.sessionTtl), String(this.settings.replayMaxAge), pr, this.keys.channel],
      )
    } catch (error) {
      session.stopRecording(recorder)
      unlisten()
      throw error
    }
    session.stopRecording(recorder)
    // (forgotten meanwhile: forgetSessions, or expired)
    if ((reply[0] !== 2 && reply[0] !== 3) || this.sessions.get(id) !== session) {
      unlisten()
      return undefined
    }
    const [status, head, version, generation, patterns, principalJson, got] = reply
    session.update({ id, version, seq: head, generation: Number(generation), patterns, principal: principalJson })
    session.principal = principal
    session.lastActive = Date.now()
    if (recorder.overflow) throw new Error(`redis store: more than ${recorder.limit} events arrived while a session was resumed`)
    const missed = status === 2 ? [...(got ?? []).map(toEntry), ...recorder.entries.filter((e) => e.seq > head)] : undefined
    return { session, resumed: true, missed }
  }

  private async create(principal: P | undefined): Promise<Opened<P> | undefined> {
    this.flush()
    const id = newSessionId()
    const pr = this.principalJson(principal)
    const { sessionTtl, maxSessions } = this.settings
    const generation = await this.link.run<string | null>(
      CREATE,
      [this.keys.sessions, this.keys.session(id), this.keys.gen],
      [id, String(Date.now()), String(sessionTtl), String(maxSessions), pr, this.keys.channel],
    )
    if (generation === null) return undefined
    // (its announcement may have been heard first)
    const session = this.sessions.get(id) ?? new RedisSession<P>(id, this.settings, this)
    session.update({ id, version: 1, seq: 0, generation: Number(generation), patterns: '[]', principal: pr })
    session.principal = principal
    this.sessions.set(id, session)
    return { session, resumed: false, missed: [] }
  }

  // ---- the channel ----

  private heard(text: string): void {
    // Events go through at once (a resume may be listening); state waits for the sessions being read.
    if (this.backlog && text[0] !== 'E') {
      if (this.backlog.length < MAX_BACKLOG) this.backlog.push(text)
      else this.loadAgain = true
      return
    }
    this.apply(text)
  }

  private apply(text: string): void {
    const m = parseMessage(text)
    switch (m?.type) {
      case 'E':
        for (let i = 0; i + 1 < m.to.length; i += 2) this.sessions.get(m.to[i] as string)?.accept(Number(m.to[i + 1]), m.item)
        return
      case 'S':
        if (m.state.generation >= this.generation) this.upsert(m.state, false)
        return
      case 'X':
        for (const id of m.ids) this.drop(this.sessions.get(id))
        return
      case 'C':
        this.generation = Math.max(this.generation, m.generation)
        for (const session of [...this.sessions.values()]) if (session.generation < m.generation) this.drop(session)
        return
      default:
        return
    }
  }

  /** The channel dropped: what was missed meanwhile is unknown. */
  private down(): void {
    this.backlog ??= []
    // Their clients resume from Redis, where nothing was lost.
    for (const session of this.sessions.values()) if (session.attached) session.forget()
  }

  /** Read every live session (at start, and when the channel is back), then apply what was heard meanwhile. */
  private load(): Promise<void> {
    if (this.loading) {
      this.loadAgain = true
      return this.loading
    }
    this.backlog ??= []
    this.loading = (async () => {
      do {
        this.loadAgain = false
        await this.readAll()
      } while (this.loadAgain)
      const backlog = this.backlog ?? []
      this.backlog = undefined
      for (const text of backlog) this.apply(text)
    })().finally(() => {
      this.loading = undefined
    })
    return this.loading
  }

  private async readAll(): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error('redis store: closed')
      try {
        this.flush()
        const flat = await this.link.run<string[]>(LOAD, [this.keys.sessions], [String(Date.now()), this.keys.prefix])
        return this.replaceAll(flat)
      } catch (error) {
        if (this.closed) throw error
        this.failed(error, 'reading the sessions failed; retrying')
        await new Promise<void>((wake) => {
          this.retry = { timer: setTimeout(wake, RELOAD_RETRY), wake }
        })
        this.retry = undefined
      }
    }
  }

  /** Take LOAD's answer: id, v, seq, g, pat, pr per live session. */
  private replaceAll(flat: string[]): void {
    const live = new Set<string>()
    for (let i = 0; i + 5 < flat.length; i += 6) {
      const id = flat[i] as string
      live.add(id)
      const state = { id, version: Number(flat[i + 1]), seq: Number(flat[i + 2]), generation: Number(flat[i + 3]), patterns: flat[i + 4] as string, principal: flat[i + 5] as string }
      this.upsert(state, true)
    }
    // A session being resumed is not in the answer if it is new here: the resume settles it.
    for (const session of [...this.sessions.values()]) if (!live.has(session.id) && !session.resuming) this.drop(session)
  }

  /** Apply a session's state; a session new here is added unless the copy is full (`force` adds it anyway). */
  private upsert(state: SessionState, force: boolean): RedisSession<P> | undefined {
    let session = this.sessions.get(state.id)
    if (!session) {
      // The store admits at most `maxSessions` live sessions; expired ones wait here for a sweep.
      if (!force && this.sessions.size >= 2 * this.settings.maxSessions) {
        if (!this.overfull) this.settings.onError(new Error(`more than ${2 * this.settings.maxSessions} sessions known`), 'redis store: new sessions are not taken')
        this.overfull = true
        return undefined
      }
      session = new RedisSession<P>(state.id, this.settings, this)
      this.sessions.set(state.id, session)
    }
    session.update(state)
    return session
  }

  private drop(session: RedisSession<P> | undefined): void {
    if (!session || this.sessions.get(session.id) !== session) return
    this.sessions.delete(session.id)
    session.forget()
  }

  // ---- writes ----

  /** Send the batched publishes, before any other command, so Redis sees everything in call order. */
  private flush(): void {
    const batch = this.batch
    if (!batch) return
    this.batch = undefined
    const keys: string[] = []
    const args = [this.keys.channel, String(this.settings.replayBuffer), String(batch.items.size)]
    for (const [item, ids] of batch.items) {
      args.push(item.event, String(item.ts), item.ack ? '1' : '0', item.json, String(ids.length))
      for (const id of ids) {
        args.push(id)
        keys.push(this.keys.session(id), this.keys.stream(id))
      }
    }
    this.link.run<string[]>(ISSUE, keys, args).then(
      (gone) => {
        for (const id of gone) this.drop(this.sessions.get(id))
      },
      (error) => this.failed(error, `publishing failed: ${batch.size} deliveries not made`),
    )
  }

  private touchAll(ids: string[], ttl: number): void {
    this.flush()
    const keys = [this.keys.sessions]
    for (const id of ids) keys.push(this.keys.session(id), this.keys.stream(id))
    this.link.run<string[]>(TOUCH, keys, [String(Date.now()), String(ttl), ...ids]).then(
      (gone) => {
        for (const id of gone) this.drop(this.sessions.get(id))
      },
      (error) => this.failed(error, 'refreshing sessions failed'),
    )
  }

  /** Push the expiry of the sessions attached here forward. */
  private keepAlive(): void {
    if (!this.link.up) return
    let ids: string[] = []
    for (const session of this.sessions.values()) {
      if (!session.attached) continue
      ids.push(session.id)
      if (ids.length >= TOUCH_CHUNK) {
        this.touchAll(ids, this.attachedTtl)
        ids = []
      }
    }
    if (ids.length > 0) this.touchAll(ids, this.attachedTtl)
  }

  /** Take expired sessions out of the index (any instance may; each is announced once). */
  private sweep(): void {
    if (!this.link.up) return
    this.flush()
    this.link
      .run<number>(SWEEP, [this.keys.sessions], [String(Date.now()), String(SWEEP_LIMIT), this.keys.prefix, this.keys.channel])
      .catch((error: unknown) => this.failed(error, 'sweeping expired sessions failed'))
  }

  /** Principals travel as JSON; one JSON cannot carry counts as none elsewhere. */
  private principalJson(principal: P | undefined): string {
    if (principal === undefined) return ''
    try {
      return JSON.stringify(principal) ?? ''
    } catch (error) {
      this.settings.onError(error, 'redis store: a principal cannot be written as JSON; other instances see none')
      return ''
    }
  }

  /** Report a failed operation, unless Redis is unreachable: the link has reported that already. */
  private failed(error: unknown, what: string): void {
    if (!this.closed) reportFailure(this.settings.onError, error, `redis store: ${what}`)
  }
}
