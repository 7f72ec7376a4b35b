/**
 * The HTTP polling transport (PROTOCOL.md, "HTTP polling fallback"): a GET loop, plain or long
 * polling, and a POST for client messages. Errors back off with jitter; 429/503 honour
 * Retry-After; every request can be aborted, and `stop()` leaves no timer and no request behind.
 */
import { Backoff, type BackoffOptions } from '../backoff.js'
import { RealtimeError } from '../errors.js'
import type { Outbound, PollQuery, PollResult, Protocol } from '../protocol/types.js'

export interface PollHooks {
  /** Session, last seq and patterns for the next GET. */
  query(): PollQuery
  /** Resolve the poll URL (it may carry a fresh token). */
  url(): Promise<string>
  result(result: PollResult, warning: string | undefined): void
  error(error: RealtimeError): void
  /** 401/403. */
  unauthorized(): void
  /** A POST got 404: the server forgot the session. */
  sessionLost(): void
}

export interface PollOptions extends BackoffOptions {
  interval: number
  wait: number
  maxMessageBytes: number
  /**
   * How long a request may take beyond `wait` before it is given up (a half-open link or a proxy
   * that swallows a long poll would otherwise stall polling for good), ms. @default 10000
   */
  connectTimeout?: number
}

/** One request under way: aborted by `now()`/`stop()`, or by its deadline (`timedOut`). */
interface Flight {
  readonly abort: AbortController
  deadline: ReturnType<typeof setTimeout> | undefined
  timedOut: boolean
}

/** Client messages waiting for the next POST, at most. */
const MAX_OUTBOX = 100

/** A long poll answered faster than this with no event did not wait: pause before the next, ms. */
const QUICK_ANSWER = 1000

/** `connectTimeout` when none is given, ms. */
const REQUEST_TIMEOUT = 10000

const encoder = /* @__PURE__ */ new TextEncoder()

/** The longest delay a timer holds; a longer one fires at once (browsers and Node alike). */
const MAX_TIMER = 2 ** 31 - 1

/** Whether `text` is larger than `max` bytes as UTF-8 (a UTF-16 unit is at most 3 bytes). */
const tooLarge = (text: string, max: number): boolean =>
  text.length > max || (text.length * 3 > max && encoder.encode(text).length > max)

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export class Poller {
  #timer: ReturnType<typeof setTimeout> | undefined
  /** The GET under way. */
  #get: Flight | undefined
  /** The POST under way. */
  #post: Flight | undefined
  #outbox: Outbound[] = []
  /** The messages of the POST under way. */
  #posted: Outbound[] = []
  #posting = false
  #running = false
  /** Bumped by every poll, `now()` and `stop()`: an older poll that wakes up finds it changed and quits. */
  #gen = 0
  readonly #backoff: Backoff

  readonly #fetchFn: typeof globalThis.fetch
  readonly #protocol: Protocol
  readonly #options: PollOptions
  readonly #hooks: PollHooks

  constructor(
    fetchFn: typeof globalThis.fetch,
    protocol: Protocol,
    options: PollOptions,
    hooks: PollHooks,
  ) {
    this.#fetchFn = fetchFn
    this.#protocol = protocol
    this.#options = options
    this.#hooks = hooks
    this.#backoff = new Backoff(options)
  }

  get active(): boolean {
    return this.#running
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#schedule(0)
  }

  /** Poll at once (gap, `refresh()`, page visible again): cancels the wait or the long poll under way. */
  now(): void {
    if (!this.#running) return
    this.#gen++
    land(this.#get)
    this.#get = undefined
    this.#schedule(0)
  }

  /** Queue a client message for the next POST (bounded: the oldest is dropped first). */
  send(message: Outbound): void {
    if (this.#outbox.length >= MAX_OUTBOX) {
      this.#outbox.shift()
      this.#hooks.error(new RealtimeError('overflow', `poll outbox full (${MAX_OUTBOX}): oldest message dropped`))
    }
    this.#outbox.push(message)
    void this.#flush()
  }

  /** Stop polling; returns the client messages that may not have reached the server (queued or in flight). */
  stop(): Outbound[] {
    const unsent = this.#posted.concat(this.#outbox)
    this.#posted = []
    this.#running = false
    this.#gen++
    clearTimeout(this.#timer)
    this.#timer = undefined
    land(this.#get)
    land(this.#post)
    this.#get = this.#post = undefined
    this.#outbox = []
    return unsent
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#poll(), ms)
  }

  /** A new request's controller, aborted once `ms` have passed. */
  #fly(ms: number): Flight {
    const flight: Flight = { abort: new AbortController(), deadline: undefined, timedOut: false }
    flight.deadline = setTimeout(() => {
      flight.timedOut = true
      flight.abort.abort()
    }, Math.min(MAX_TIMER, ms))
    return flight
  }

  async #poll(): Promise<void> {
    this.#timer = undefined
    const gen = ++this.#gen
    const current = (): boolean => this.#running && gen === this.#gen
    let base: string
    try {
      base = await this.#hooks.url()
    } catch (cause) {
      this.#hooks.error(new RealtimeError('transport', 'the pollUrl function failed', { cause }))
      return current() ? this.#retry(undefined) : undefined
    }
    if (!current()) return
    const limit = this.#options.wait + (this.#options.connectTimeout ?? REQUEST_TIMEOUT)
    const flight = (this.#get = this.#fly(limit))
    const started = Date.now()
    let res: Response | undefined
    let body: string | undefined
    try {
      res = await this.#fetchFn(this.#protocol.pollUrl(base, this.#hooks.query()), { method: 'GET', signal: flight.abort.signal, cache: 'no-store' })
      if (res.ok) body = await this.#read(res)
    } catch (cause) {
      if (current() && !flight.abort.signal.aborted) this.#hooks.error(new RealtimeError('transport', 'poll request failed', { cause }))
    }
    clearTimeout(flight.deadline)
    if (!current()) return // stopped, or `now()` took over
    this.#get = undefined
    if (flight.timedOut) {
      this.#hooks.error(new RealtimeError('transport', `poll got no complete answer within ${limit} ms`))
      return this.#retry(undefined)
    }
    if (!res) return this.#retry(undefined)
    if (!res.ok) return this.#failed(res)
    const decoded = body === undefined ? undefined : this.#protocol.decodePoll(body)
    if (!decoded?.ok) {
      this.#hooks.error(new RealtimeError('invalid_message', decoded ? decoded.error : 'poll response unreadable or too large'))
      return this.#retry(undefined)
    }
    this.#backoff.reset()
    this.#hooks.result(decoded.value, decoded.warning)
    // long polling goes straight on, but a server that answers at once with nothing (it ignores
    // `wait`, or started a session) is asked at most once a second, not in a tight loop
    const { wait, interval } = this.#options
    const idle = decoded.value.events.length === 0 && Date.now() - started < Math.min(wait, QUICK_ANSWER)
    if (current()) this.#schedule(wait > 0 ? (idle ? Math.min(interval, QUICK_ANSWER) : 0) : interval)
    void this.#flush()
  }

  async #read(res: Response): Promise<string | undefined> {
    const length = Number(res.headers.get('content-length'))
    if (length > this.#options.maxMessageBytes) return undefined
    try {
      const text = await res.text()
      return tooLarge(text, this.#options.maxMessageBytes) ? undefined : text
    } catch {
      return undefined
    }
  }

  #failed(res: Response): void {
    if (res.status === 401 || res.status === 403) this.#hooks.unauthorized()
    else this.#hooks.error(new RealtimeError('transport', `poll answered HTTP ${res.status}`))
    const wait = res.status === 429 || res.status === 503 ? retryAfter(res.headers.get('retry-after')) : undefined
    this.#retry(wait)
  }

  #retry(wait: number | undefined): void {
    if (this.#running) this.#schedule(Math.min(MAX_TIMER, Math.max(wait ?? 0, this.#backoff.next())))
  }

  /** POST what is queued, one request at a time; keep it for the next try on failure. */
  async #flush(): Promise<void> {
    const session = this.#hooks.query().session
    if (this.#posting || !this.#running || session === null || this.#outbox.length === 0) return
    this.#posting = true
    const batch = (this.#posted = this.#outbox)
    this.#outbox = []
    const flight = (this.#post = this.#fly(this.#options.connectTimeout ?? REQUEST_TIMEOUT))
    let res: Response | undefined
    try {
      const base = await this.#hooks.url()
      if (this.#post === flight) {
        res = await this.#fetchFn(base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: this.#protocol.encodePost(session, batch),
          signal: flight.abort.signal,
        })
      }
    } catch {
      // a failing url() is reported by the GET loop; a failed or timed-out POST is kept for the next try below
    }
    clearTimeout(flight.deadline)
    this.#posting = false
    if (this.#post !== flight || !this.#running) return // stopped: what was queued is dropped
    this.#post = undefined
    this.#posted = []
    if (res?.status === 404) {
      this.#hooks.sessionLost()
      return this.now()
    }
    if (!res?.ok) {
      if (res && (res.status === 401 || res.status === 403)) this.#hooks.unauthorized()
      const kept = batch.concat(this.#outbox)
      if (kept.length > MAX_OUTBOX) {
        this.#hooks.error(new RealtimeError('overflow', `poll outbox full (${MAX_OUTBOX}): ${kept.length - MAX_OUTBOX} oldest messages dropped`))
      }
      this.#outbox = kept.slice(-MAX_OUTBOX)
      return
    }
    if (this.#outbox.length > 0) void this.#flush()
  }
}

/** End a request: clear its deadline and abort it if it is still under way. */
function land(flight: Flight | undefined): void {
  if (!flight) return
  clearTimeout(flight.deadline)
  flight.abort.abort()
}
