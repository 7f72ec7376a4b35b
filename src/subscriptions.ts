import { matchPattern } from './patterns.js'

/**
 * Reference-counted subscription patterns of one connection. Many handles may subscribe to the
 * same pattern; the wire sees one `subscribe` when the first takes it and one `unsubscribe` when
 * the last lets go.
 */
export class Subscriptions {
  readonly #counts = new Map<string, number>()

  /** Take a reference on each pattern; returns those that were not subscribed before. */
  add(patterns: readonly string[]): string[] {
    return patterns.filter((p) => {
      const n = this.#counts.get(p) ?? 0
      this.#counts.set(p, n + 1)
      return n === 0
    })
  }

  /** Release a reference on each pattern; returns those no one holds any more. */
  remove(patterns: readonly string[]): string[] {
    return patterns.filter((p) => {
      const n = this.#counts.get(p) ?? 0
      if (n > 1) this.#counts.set(p, n - 1)
      else this.#counts.delete(p)
      // the last reference went (a pattern no one held is not reported)
      return n === 1
    })
  }

  /** Whether any pattern held matches `event` (for servers that do not filter). */
  matches(event: string): boolean {
    for (const p of this.#counts.keys()) if (matchPattern(p, event)) return true
    return false
  }

  /** The current set, as sent in `hello` and with every poll. */
  list(): string[] {
    return [...this.#counts.keys()]
  }
}
