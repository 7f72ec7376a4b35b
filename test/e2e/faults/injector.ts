/**
 * Draws faults from a seeded PRNG and applies them to the proxy's links: one fault per link at a
 * time, several links at once. Faults that last (a stall, a latency window, an armed drop) run in
 * the background; `settle()` waits for them all to end.
 */
import type { EarlyCut, FaultProxy, Link, StallOutcome } from './proxy.js'

export type FaultKind = 'reset' | 'stall' | 'latency' | 'drop'
export const FAULT_KINDS: readonly FaultKind[] = ['reset', 'stall', 'latency', 'drop']

export interface InjectorOptions {
  /** Relative weight of each kind of fault. */
  weights: Record<FaultKind, number>
  /** Share of resets that cut the next connection early (at accept, `hello` or `welcome`) instead of a live link. */
  early: number
  /** Added latency per direction, ms: drawn in [min, max). */
  latency: { min: number; max: number }
  /** How long a latency window lasts, ms. */
  window: { min: number; max: number }
  /** A stall the client has not given up on after this long is torn down anyway, ms. */
  stallCap: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export class FaultInjector {
  /** Faults that took effect, by kind (an armed drop or early cut counts once it happened). */
  readonly counts: Record<FaultKind, number> = { reset: 0, stall: 0, latency: 0, drop: 0 }
  /** Early cuts among the resets, by where they landed. */
  readonly early: Record<EarlyCut, number> = { accept: 0, hello: 0, welcome: 0 }
  /** How each stall ended. */
  readonly stalls: StallOutcome[] = []
  readonly #inFlight = new Set<Promise<void>>()
  #earlyArmed = false
  #stopped = false

  constructor(
    private readonly proxy: FaultProxy,
    private readonly rnd: () => number,
    private readonly options: InjectorOptions,
  ) {}

  get total(): number {
    return FAULT_KINDS.reduce((sum, k) => sum + this.counts[k], 0)
  }

  /** The smallest count over the kinds. */
  get fewest(): number {
    return Math.min(...FAULT_KINDS.map((k) => this.counts[k]))
  }

  /** Apply one fault drawn at random; does nothing when its kind has no link free to take it. */
  step(): void {
    if (this.#stopped) return
    const kind = this.#kind()
    if (kind === 'reset' && this.rnd() < this.options.early) return this.#early()
    const free = this.proxy.live().filter((l) => !l.busy)
    const link = free[Math.floor(this.rnd() * free.length)]
    if (!link) return
    switch (kind) {
      case 'reset':
        link.reset(true)
        this.counts.reset++
        return
      case 'stall':
        return this.#background(link, async () => {
          const outcome = await link.stall(this.options.stallCap)
          this.stalls.push(outcome)
          this.counts.stall++
        })
      case 'latency': {
        const { latency, window } = this.options
        const ms = Math.round(latency.min + this.rnd() * (latency.max - latency.min))
        const lasts = window.min + this.rnd() * (window.max - window.min)
        return this.#background(link, async () => {
          link.latency(ms)
          this.counts.latency++
          await sleep(lasts)
          link.latency(0)
        })
      }
      case 'drop':
        return this.#background(link, async () => {
          const seq = await link.dropNextEvent()
          if (seq !== undefined) this.counts.drop++
        })
    }
  }

  /** Stop drawing faults and wait, up to `timeout` ms, for those under way to end. */
  async settle(timeout: number): Promise<void> {
    this.#stopped = true
    this.proxy.disarm()
    const all = Promise.all([...this.#inFlight])
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`faults still under way after ${timeout} ms`)), timeout)
    })
    try {
      await Promise.race([all, late])
    } finally {
      clearTimeout(timer)
    }
  }

  #kind(): FaultKind {
    const { weights } = this.options
    const sum = FAULT_KINDS.reduce((s, k) => s + weights[k], 0)
    let r = this.rnd() * sum
    for (const k of FAULT_KINDS) {
      r -= weights[k]
      if (r < 0) return k
    }
    return 'reset'
  }

  #early(): void {
    if (this.#earlyArmed) return
    this.#earlyArmed = true
    const cuts: readonly EarlyCut[] = ['accept', 'hello', 'welcome']
    const at = cuts[Math.floor(this.rnd() * cuts.length)] as EarlyCut
    this.#track(
      this.proxy.resetNext(at).then((happened) => {
        this.#earlyArmed = false
        if (!happened) return
        this.early[at]++
        this.counts.reset++
      }),
    )
  }

  #background(link: Link, run: () => Promise<void>): void {
    link.busy = true
    this.#track(
      run().finally(() => {
        link.busy = false
      }),
    )
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p)
    void p.finally(() => this.#inFlight.delete(p))
  }
}
