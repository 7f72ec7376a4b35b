/**
 * Refetch on notice: a server that only says "something changed" (`changed`) is answered with a
 * GET of the poll URL, at most one started per `interval`. A notice that comes while a fetch is
 * under way, or within the interval, asks for exactly one more fetch after it: a burst of notices
 * costs two requests, and the last state is always fetched after the last notice.
 */
import { RealtimeError, type RealtimeErrorCode } from '../errors.js'
import type { HttpCodec, PollQuery, PollResult } from '../protocol/types.js'
import { denied, fly, tooLarge } from './polling.js'

export interface RefetchHooks {
  query(): PollQuery
  url(): Promise<string>
  result(result: PollResult, warning: string | undefined): void
  error(error: RealtimeError): void
  /** 401/403. */
  unauthorized(): void
}

export interface RefetchOptions {
  /** The soonest the next fetch may start after one started, ms. */
  interval: number
  /** A request that takes longer is given up, ms. */
  timeout: number
  maxMessageBytes: number
}

export class Refetcher {
  #timer: ReturnType<typeof setTimeout> | undefined
  #flight: AbortController | undefined
  /** A notice came during the fetch or the pause: fetch once more after them. */
  #wanted = false
  #busy = false
  #lastStart = -Infinity
  /** Bumped by `stop()`: a fetch that wakes up after it finds it changed and quits. */
  #gen = 0

  constructor(
    readonly fetchFn: typeof globalThis.fetch,
    readonly codec: HttpCodec,
    readonly options: RefetchOptions,
    readonly hooks: RefetchHooks,
  ) {}

  /** The server said its state changed. */
  changed(): void {
    if (this.#busy || this.#timer !== undefined) {
      this.#wanted = true
      return
    }
    const wait = this.#lastStart + this.options.interval - Date.now()
    if (wait > 0) this.#timer = setTimeout(() => void this.#run(), wait)
    else void this.#run()
  }

  /** Cancel the pause and the request under way. */
  stop(): void {
    this.#gen++
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#flight?.abort()
    this.#busy = this.#wanted = false
  }

  async #run(): Promise<void> {
    const gen = this.#gen
    this.#timer = undefined
    this.#wanted = false
    this.#busy = true
    this.#lastStart = Date.now()
    const { maxMessageBytes, timeout } = this.options
    let flight: AbortController | undefined
    try {
      const base = await this.hooks.url()
      if (gen !== this.#gen) return
      flight = this.#flight = fly(timeout)
      const res = await this.fetchFn(this.codec.pollUrl(base, this.hooks.query()), { method: 'GET', signal: flight.signal, cache: 'no-store' })
      if (!res.ok) {
        if (denied(res.status)) this.hooks.unauthorized()
        else this.#error('transport', `refetch answered HTTP ${res.status}`)
      } else {
        const body = Number(res.headers.get('content-length')) > maxMessageBytes ? undefined : await res.text()
        if (gen !== this.#gen) return
        const decoded = body === undefined || tooLarge(body, maxMessageBytes) ? null : this.codec.decodePoll(body)
        if (decoded?.ok) this.hooks.result(decoded.value, decoded.warning)
        else this.#error('invalid_message', decoded ? decoded.error : 'refetch answer unreadable or too large')
      }
    } catch (cause) {
      if (gen === this.#gen) this.#error('transport', flight?.signal.aborted ? `refetch timed out after ${timeout} ms` : flight ? 'refetch failed' : 'the pollUrl function failed', cause)
    } finally {
      flight?.abort() // clears its deadline
    }
    if (gen !== this.#gen) return
    this.#busy = false
    if (this.#wanted) this.changed()
  }

  #error(code: RealtimeErrorCode, message: string, cause?: unknown): void {
    this.hooks.error(new RealtimeError(code, message, cause === undefined ? {} : { cause }))
  }
}
