/**
 * A session's subscription patterns (PROTOCOL.md, "Patterns"), bounded in number. An empty set
 * means every event. Pattern syntax and matching are the client's own (`../patterns.ts`), so both
 * sides agree on what `*` and `**` mean.
 */
import { isValidPattern, matchPattern } from '../patterns.js'

/** What a change to the set did not take, for the `error` sent back. */
export interface Refused {
  invalid: string[]
  /** Patterns left out because the set was full. */
  overLimit: string[]
}

/** Whether `name` can be published: a valid pattern with no wildcard segment. */
export function isValidEventName(name: unknown): name is string {
  return isValidPattern(name) && !name.split('.').some((s) => s === '*' || s === '**')
}

export class PatternSet {
  private readonly patterns = new Set<string>()

  constructor(private readonly max: number) {}

  get size(): number {
    return this.patterns.size
  }

  list(): string[] {
    return [...this.patterns]
  }

  /** Whether an event named `event` is wanted: no pattern at all, or one that matches. */
  matches(event: string): boolean {
    if (this.patterns.size === 0) return true
    for (const p of this.patterns) if (matchPattern(p, event)) return true
    return false
  }

  /** Replace the whole set (`hello`, poll GET). */
  replace(patterns: readonly string[]): Refused {
    this.patterns.clear()
    return this.add(patterns)
  }

  /** Add patterns; invalid ones and those past the limit are refused. */
  add(patterns: readonly string[]): Refused {
    const refused: Refused = { invalid: [], overLimit: [] }
    for (const p of patterns) {
      if (!isValidPattern(p)) refused.invalid.push(p)
      else if (this.patterns.has(p)) continue
      else if (this.patterns.size >= this.max) refused.overLimit.push(p)
      else this.patterns.add(p)
    }
    return refused
  }

  remove(patterns: readonly string[]): void {
    for (const p of patterns) this.patterns.delete(p)
  }
}
