/**
 * Reconnect delays: exponential steps (1s, 2s, 4s, 8s, 16s by default) with jitter, so that ten
 * thousand clients dropped by one server restart do not come back in lockstep (thundering herd).
 * Each delay is drawn uniformly within ±`jitter` of its step, but never above `maxDelay`.
 */
export interface BackoffOptions {
  minDelay: number
  maxDelay: number
  factor: number
  jitter: number
}

/** The delay before retry number `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(o.maxDelay, o.minDelay * o.factor ** attempt)
  const lo = step * (1 - o.jitter)
  const hi = Math.min(step * (1 + o.jitter), o.maxDelay)
  return Math.round(lo + random() * (hi - lo))
}

/** A retry counter over `backoffDelay`. */
export class Backoff {
  #attempt = 0
  readonly #options: BackoffOptions

  constructor(options: BackoffOptions) {
    this.#options = options
  }

  /** The next delay; each call moves one step up the schedule (capped). */
  next(): number {
    return backoffDelay(this.#attempt++, this.#options)
  }

  /** A delay at the cap, as after a 4008 close (server over capacity). */
  max(): number {
    const { minDelay, maxDelay, factor } = this.#options
    // With factor 1 the steps never grow: log(factor) is 0 and the step count would be Infinity or NaN.
    if (factor > 1 && maxDelay > minDelay) {
      this.#attempt = Math.max(this.#attempt, Math.ceil(Math.log(maxDelay / minDelay) / Math.log(factor)))
    }
    return backoffDelay(0, { ...this.#options, minDelay: maxDelay })
  }

  /** Back to the first step, once a connection has proved stable. */
  reset(): void {
    this.#attempt = 0
  }
}
