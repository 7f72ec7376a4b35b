/**
 * The HTTP polling transport (PROTOCOL.md, "HTTP polling fallback"): a GET loop, plain or long
 * polling, and a POST for client messages. Errors back off with jitter; 429/503 honour
 * Retry-After; every request can be aborted, and `stop()` leaves no timer and no request behind.
 */
import { Backoff, type BackoffOptions } from '../backoff.js'
import { RealtimeError, type RealtimeErrorCode } from '../errors.js'
import type { HttpCodec, Outbound, PollQuery, PollResult } from '../protocol/types.js'

export interface PollHooks {
  /** Session, last seq and patterns for the next GET. */
  query(): PollQuery
  /** Resolve the poll URL (it may carry a fresh token). */
  url(): Promise<string>
  /** `once`: the answer of a single request (`once()`), not of the poll loop. */
  result(result: PollResult, warning: string | undefined, once: boolean): void
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

/** Client messages waiting for the next POST, at most. */
const MAX_OUTBOX = 100

/** A long poll answered faster than this with no event did not wait: pause before the next, ms. */
const QUICK_ANSWER = 1000

const encoder = /* @__PURE__ */ new TextEncoder()

/** `setTimeout`, capped at the longest delay a timer holds (a longer one would fire at once). */
const later = (fn: () => void, ms: number): ReturnType<typeof setTimeout> => setTimeout(fn, Math.min(2 ** 31 - 1, ms))

/** Whether `text` is larger than `max` bytes as UTF-8 (a UTF-16 unit is at most 3 bytes). */
const tooLarge = (text: string, max: number): boolean =>
  text.length > max || (text.length * 3 > max && encoder.encode(text).length > max)

/** 401 or 403: the server refused the credentials. */
const denied = (status: number): boolean => status === 401 || status === 403

/**
 * A new request's controller, aborted once `ms` have passed. However it is aborted (deadline,
 * `now()`, `stop()`, or by its owner once the request is over), its deadline goes with it.
 */
function fly(ms: number): AbortController {
  const flight = new AbortController()
  const deadline = later(() => flight.abort(), ms)
  flight.signal.addEventListener('abort', () => clearTimeout(deadline))
  return flight
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header?.trim()) return undefined
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now
  return Number.isNaN(ms) ? undefined : Math.max(0, ms)
}

export class Poller {
  #timer: ReturnType<typeof setTimeout> | undefined
  /** The GET under way (or the last one, already over: aborting it again does nothing). */
  #get: AbortController | undefined
  /** The POST under way: one at a time. */
  #post: AbortController | undefined
  #outbox: Outbound[] = []
  /** The messages of the POST under way. */
  #posted: Outbound[] = []
  #running = false
  /**
   * Bumped by every poll, `now()` and `stop()`: an older poll that wakes up finds it changed and
   * quits (a stopped poller never finds its generation again: `stop()` bumps it too).
   */
  #gen = 0
  readonly #backoff: Backoff

  readonly #fetchFn: typeof globalThis.fetch
  readonly #protocol: HttpCodec
  readonly #options: Required<PollOptions>
  readonly #hooks: PollHooks

  constructor(
    fetchFn: typeof globalThis.fetch,
    protocol: HttpCodec,
    options: PollOptions,
    hooks: PollHooks,
  ) {
    this.#fetchFn = fetchFn
    this.#protocol = protocol
    this.#options = { connectTimeout: 10000, ...options }
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
    this.#get?.abort()
    this.#schedule(0)
  }

  /**
   * One GET now, its answer handled as every poll's is, and no loop after it (a server that only
   * notifies is asked for its state this way); while polling, the same as `now()`. Resolves when
   * the request is over, however it ended.
   */
  once(): Promise<void> {
    if (this.#running) {
      this.now()
      return Promise.resolve()
    }
    return this.#poll(true)
  }

  /** Queue a client message for the next POST (bounded: the oldest is dropped first). */
  send(message: Outbound): void {
    // a server without a POST endpoint takes no client message while polling (patterns go with each GET)
    if (!this.#protocol.encodePost) return
    this.#outbox.push(message)
    this.#trim()
    void this.#flush()
  }

  /** Stop polling; returns the client messages that may not have reached the server (queued or in flight). */
  stop(): Outbound[] {
    const unsent = this.#posted.concat(this.#outbox)
    this.#running = false
    this.#gen++
    clearTimeout(this.#timer)
    this.#get?.abort()
    this.#post?.abort()
    this.#post = undefined
    this.#posted = []
    this.#outbox = []
    return unsent
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer)
    this.#timer = later(() => void this.#poll(), ms)
  }

  /** Report a problem through the `error` hook. */
  #error(code: RealtimeErrorCode, message: string, cause?: unknown): void {
    this.#hooks.error(new RealtimeError(code, message, { cause }))
  }

  /** Drop the oldest queued messages past MAX_OUTBOX, and say so. */
  #trim(): void {
    const over = this.#outbox.length - MAX_OUTBOX
    if (over > 0) {
      this.#outbox.splice(0, over)
      this.#error('overflow', `poll outbox full (${MAX_OUTBOX}): ${over} oldest dropped`)
    }
  }

  /** `once`: a single request (see `once()`), which schedules no other. */
  async #poll(once = false): Promise<void> {
    const gen = ++this.#gen
    const current = (): boolean => gen === this.#gen && (!once || !this.#running)
    const { interval, connectTimeout, maxMessageBytes } = this.#options
    // a single request asks for the state now, never a long poll
    const wait = once ? 0 : this.#options.wait
    const limit = wait + connectTimeout
    let flight: AbortController | undefined
    let res: Response | undefined
    let body: string | undefined
    let started = 0
    try {
      const base = await this.#hooks.url()
      if (!current()) return
      flight = this.#get = fly(limit)
      started = Date.now()
      res = await this.#fetchFn(this.#protocol.pollUrl(base, { ...this.#hooks.query(), wait }), { method: 'GET', signal: flight.signal, cache: 'no-store' })
      // an answer whose Content-Length is over the limit is not even read
      if (res.ok && !(Number(res.headers.get('content-length')) > maxMessageBytes)) body = await res.text().catch(() => undefined)
    } catch (cause) {
      // no flight yet: it was url() that failed
      if (current() && !flight?.signal.aborted) this.#error('transport', flight ? 'poll request failed' : 'the pollUrl function failed', cause)
    }
    // while its poll is still current, only the deadline can have aborted the request; aborting it
    // now that it is over clears that deadline (and drops a body left unread)
    const timedOut = flight?.signal.aborted
    flight?.abort()
    if (!current()) return // stopped, or `now()` took over
    let after: number | undefined
    if (timedOut) this.#error('transport', `poll timed out after ${limit} ms`)
    else if (res && !res.ok) {
      const { status } = res
      if (denied(status)) this.#hooks.unauthorized()
      else this.#error('transport', `poll answered HTTP ${status}`)
      if (status === 429 || status === 503) after = retryAfter(res.headers.get('retry-after'))
    } else if (res) {
      const decoded = body === undefined || tooLarge(body, maxMessageBytes) ? null : this.#protocol.decodePoll(body)
      if (decoded?.ok) {
        this.#backoff.reset()
        this.#hooks.result(decoded.value, decoded.warning, once)
        // long polling goes straight on, but a server that answers at once with nothing (it ignores
        // `wait`, or started a session) is asked at most once a second, not in a tight loop
        const idle = decoded.value.events.length === 0 && Date.now() - started < Math.min(wait, QUICK_ANSWER)
        if (current() && !once) this.#schedule(wait > 0 ? (idle ? Math.min(interval, QUICK_ANSWER) : 0) : interval)
        return void this.#flush()
      }
      this.#error('invalid_message', decoded ? decoded.error : 'poll response unreadable or too large')
    }
    // every failure backs off (at least as long as Retry-After asks); the hooks may have stopped us
    if (current() && !once) this.#schedule(Math.max(after ?? 0, this.#backoff.next()))
  }

  /** POST what is queued, one request at a time; keep it for the next try on failure. */
  async #flush(): Promise<void> {
    const session = this.#hooks.query().session
    const encode = this.#protocol.encodePost?.bind(this.#protocol)
    if (this.#post || !this.#running || session === null || !encode || this.#outbox.length === 0) return
    const batch = (this.#posted = this.#outbox)
    this.#outbox = []
    const flight = (this.#post = fly(this.#options.connectTimeout))
    let res: Response | undefined
    try {
      const base = await this.#hooks.url()
      if (this.#post === flight) {
        res = await this.#fetchFn(base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: encode(session, batch),
          signal: flight.signal,
        })
      }
    } catch {
      // a failing url() is reported by the GET loop; a failed or timed-out POST is kept for the next try below
    }
    flight.abort() // clears the deadline
    if (this.#post !== flight) return // stopped: what was queued is dropped
    this.#post = undefined
    this.#posted = []
    if (res?.status === 404) {
      this.#hooks.sessionLost()
      this.now()
    } else if (res?.ok) void this.#flush()
    else {
      if (res && denied(res.status)) this.#hooks.unauthorized()
      this.#outbox = batch.concat(this.#outbox)
      this.#trim()
    }
  }
}
