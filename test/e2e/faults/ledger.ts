/**
 * Ground truth and bookkeeping for the fault runs: a seeded PRNG, the server's own record of what
 * it issued to each session, and the comparison of what a handle delivered against it.
 */
import type { SessionView } from '../../../src/server/index.js'

/** mulberry32: a tiny seeded PRNG, so a failing run's schedule of faults can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A fresh random seed, or `FAULTS_SEED` (+ `offset`, one per test) to replay a run's choices. */
export function seedFor(offset: number): number {
  const fixed = process.env.FAULTS_SEED
  return fixed !== undefined && fixed !== '' ? (Number(fixed) + offset) >>> 0 : (Math.random() * 2 ** 32) >>> 0
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
  let total = 0
  return {
    filter: (session: SessionView<Record<string, unknown>>, event: string, data: unknown): boolean => {
      let list = bySession.get(session.id)
      if (!list) bySession.set(session.id, (list = []))
      list.push({ session: session.id, seq: session.seq + 1, event, data })
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

/** Lost, duplicated and out-of-order deliveries in `got` against `expected` (what it should be, in order). */
export function tally(expected: readonly Delivered[], got: readonly Delivered[]) {
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
  const lost = expected.filter((e) => !seen.has(e.seq)).length
  return { lost, duplicated, outOfOrder, wrongPayload, unexpected }
}

/** The app-level view of events, for whole-list comparisons. */
export const strip = (list: readonly Delivered[]): Delivered[] => list.map(({ seq, event, data }) => ({ seq, event, data }))

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
