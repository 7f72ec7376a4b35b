/**
 * Trailing-edge throttle for listeners that repaint: at most one call per `ms`, always with the
 * latest arguments, none after `cancel()`.
 */
export interface Throttled<A extends unknown[]> {
  (...args: A): void
  cancel(): void
}

export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number): Throttled<A> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let latest: A | undefined
  const throttled = (...args: A): void => {
    latest = args
    // `latest` is set whenever a timer runs: only `cancel()` clears it, and it clears the timer too
    timer ??= setTimeout(() => {
      const args = latest!
      timer = latest = undefined
      fn(...args)
    }, ms)
  }
  throttled.cancel = (): void => {
    clearTimeout(timer)
    timer = latest = undefined
  }
  return throttled
}
