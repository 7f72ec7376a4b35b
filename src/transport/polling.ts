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
}

/** Client messages waiting for the next POST, at most. */
const MAX_OUTBOX = 100

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined
  private abort: AbortController | undefined
  private outbox: Outbound[] = []
  private posting = false
  private running = false
  /** Bumped by every poll, `now()` and `stop()`: an older poll that wakes up finds it changed and quits. */
  private gen = 0
  private readonly backoff: Backoff

  constructor(
    private readonly fetchFn: typeof globalThis.fetch,
    private readonly protocol: Protocol,
    private readonly options: PollOptions,
    private readonly hooks: PollHooks,
  ) {
    this.backoff = new Backoff(options)
  }

  get active(): boolean {
    return this.running
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule(0)
  }

  /** Poll at once (gap, `refresh()`, page visible again): cancels the wait or the long poll under way. */
  now(): void {
    if (!this.running) return
    this.gen++
    this.abort?.abort()
    this.schedule(0)
  }

  /** Queue a client message for the next POST (bounded: the oldest is dropped first). */
  send(message: Outbound): void {
    if (this.outbox.length >= MAX_OUTBOX) {
      this.outbox.shift()
      this.hooks.error(new RealtimeError('overflow', `poll outbox full (${MAX_OUTBOX}): oldest message dropped`))
    }
    this.outbox.push(message)
    void this.flush()
  }

  stop(): void {
    this.running = false
    this.gen++
    clearTimeout(this.timer)
    this.timer = undefined
    this.abort?.abort()
    this.abort = undefined
    this.outbox = []
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.poll(), ms)
  }

  private async request(url: string, init: RequestInit): Promise<Response | undefined> {
    const abort = (this.abort = new AbortController())
    try {
      return await this.fetchFn(url, { ...init, signal: abort.signal, cache: 'no-store' })
    } catch (cause) {
      if (!abort.signal.aborted && this.running) {
        this.hooks.error(new RealtimeError('transport', 'poll request failed', { cause }))
      }
      return undefined
    }
  }

  private async poll(): Promise<void> {
    this.timer = undefined
    const gen = ++this.gen
    const current = (): boolean => this.running && gen === this.gen
    let base: string
    try {
      base = await this.hooks.url()
    } catch (cause) {
      this.hooks.error(new RealtimeError('transport', 'the pollUrl function failed', { cause }))
      return current() ? this.retry(undefined) : undefined
    }
    if (!current()) return
    const res = await this.request(this.protocol.pollUrl(base, this.hooks.query()), { method: 'GET' })
    if (!current()) return // stopped, or `now()` took over
    if (!res) return this.retry(undefined)
    if (!res.ok) return this.failed(res)
    const body = await this.read(res)
    if (!current()) return
    const decoded = body === undefined ? undefined : this.protocol.decodePoll(body)
    if (!decoded?.ok) {
      this.hooks.error(new RealtimeError('invalid_message', decoded ? decoded.error : 'poll response unreadable or too large'))
      return this.retry(undefined)
    }
    this.backoff.reset()
    this.hooks.result(decoded.value, decoded.warning)
    if (current()) this.schedule(this.options.wait > 0 ? 0 : this.options.interval)
    void this.flush()
  }

  private async read(res: Response): Promise<string | undefined> {
    const length = Number(res.headers.get('content-length'))
    if (length > this.options.maxMessageBytes) return undefined
    try {
      const text = await res.text()
      return text.length > this.options.maxMessageBytes ? undefined : text
    } catch {
      return undefined
    }
  }

  private failed(res: Response): void {
    if (res.status === 401 || res.status === 403) this.hooks.unauthorized()
    else this.hooks.error(new RealtimeError('transport', `poll answered HTTP ${res.status}`))
    const wait = res.status === 429 || res.status === 503 ? retryAfter(res.headers.get('retry-after')) : undefined
    this.retry(wait)
  }

  private retry(wait: number | undefined): void {
    if (this.running) this.schedule(Math.max(wait ?? 0, this.backoff.next()))
  }

  /** POST what is queued, one request at a time; keep it for the next try on failure. */
  private async flush(): Promise<void> {
    const session = this.hooks.query().session
    if (this.posting || !this.running || session === null || this.outbox.length === 0) return
    this.posting = true
    const batch = this.outbox
    this.outbox = []
    let base: string | undefined
    try {
      base = await this.hooks.url()
    } catch {
      // reported by the GET loop
    }
    const res =
      base === undefined
        ? undefined
        : await this.fetchFn(base, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: this.protocol.encodePost(session, batch),
          }).catch(() => undefined)
    this.posting = false
    if (!this.running) return
    if (res?.status === 404) {
      this.hooks.sessionLost()
      return this.now()
    }
    if (!res?.ok) {
      if (res && (res.status === 401 || res.status === 403)) this.hooks.unauthorized()
      this.outbox = batch.concat(this.outbox).slice(-MAX_OUTBOX)
      return
    }
    if (this.outbox.length > 0) void this.flush()
  }
}
