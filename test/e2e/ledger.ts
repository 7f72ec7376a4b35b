/**
 * Ground truth and bookkeeping for the end-to-end runs against the reference server (the chaos
 * runs of node.test.ts, the fault runs of faults.test.ts): seeds, the server's own record of what
 * it issued to each session, and the comparison of what a handle delivered against it.
 */
import type { SessionView } from '../../src/server/index.js'

export { prng } from '../prng.js'

/** A fresh random seed, or the one in environment variable `name` (+ `offset`, one per test) to replay a run's choices. */
export function seedFor(name: string, offset: number): number {
  const fixed = process.env[name]
  return fixed !== undefined && fixed !== '' ? (Number(fixed) + offset) >>> 0 : (Math.random() * 2 ** 32) >>> 0
}

/** Run `tick` every `ms` until stopped; `cleanups` gets the stop, for after the test at the latest. */
export function every(ms: number, tick: () => void, cleanups: (() => unknown)[]): { stop(): void } {
  let running = true
  let timer: ReturnType<typeof setTimeout> | undefined
  const loop = (): void => {
    if (!running) return
    tick()
    timer = setTimeout(loop, ms)
  }
  timer = setTimeout(loop, ms)
  const stop = (): void => {
    running = false
    clearTimeout(timer)
  }
  cleanups.push(stop)
  return { stop }
}

export interface Issued {
  session: string
  seq: number
  event: string
  data: unknown
}

/**
 * What the server issued, per session, recorded by a `filter` that lets every event through: the
 * hook runs right before the session assigns the seq (`filter` in src/server/options.ts).
 */
export function ledger() {
  const bySession = new Map<string, Issued[]>()
  /** Every event issued, to any session, in the order issued. */
  const issued: Issued[] = []
  let total = 0
  return {
    issued,
    filter: (session: SessionView<Record<string, unknown>>, event: string, data: unknown): boolean => {
      let list = bySession.get(session.id)
      if (!list) bySession.set(session.id, (list = []))
      const e = { session: session.id, seq: session.seq + 1, event, data }
      list.push(e)
      issued.push(e)
      total++
      return true
    },
    /** Events issued to `session`, in seq order. */
    of: (session: string | undefined): Issued[] => (session === undefined ? [] : (bySession.get(session) ?? [])),
    /** Events issued to all sessions together. */
    get total(): number {
      return total
    },
  }
}

export interface Delivered {
  seq: number
  event: string
  data: unknown
}

/**
 * Lost, duplicated and out-of-order deliveries in `got` against `expected` (what it should be, in
 * order); seqs in `excused` (given up by a `resync`) do not count as lost.
 */
export function tally(expected: readonly Delivered[], got: readonly Delivered[], excused: ReadonlySet<number> = new Set()) {
  const bySeq = new Map(expected.map((e) => [e.seq, e]))
  const seen = new Set<number>()
  let duplicated = 0
  let outOfOrder = 0
  let wrongPayload = 0
  let unexpected = 0
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as Delivered
    if (seen.has(g.seq)) duplicated++
    seen.add(g.seq)
    if (i > 0 && g.seq <= (got[i - 1] as Delivered).seq) outOfOrder++
    const want = bySeq.get(g.seq)
    if (!want) unexpected++
    else if (want.event !== g.event || JSON.stringify(want.data) !== JSON.stringify(g.data)) wrongPayload++
  }
  const lost = expected.filter((e) => !seen.has(e.seq) && !excused.has(e.seq)).length
  return { lost, duplicated, outOfOrder, wrongPayload, unexpected }
}

export const seqsOf = (list: readonly { seq: number }[]): number[] => list.map((e) => e.seq)

/** The app-level view of events, for whole-list comparisons. */
export const strip = (list: readonly Delivered[]): Delivered[] => list.map(({ seq, event, data }) => ({ seq, event, data }))

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
