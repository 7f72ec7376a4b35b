import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { InboundEvent } from '../../src/protocol/types.js'
import { Sequencer, type SequenceOptions } from '../../src/sequence.js'
import type { ResyncInfo, Stats } from '../../src/types.js'

const TIMEOUT = 5000

const ev = (seq: number): InboundEvent => ({ type: 'event', seq, event: 'alert', data: { n: seq } })

function setup(options: Partial<SequenceOptions> = {}) {
  const delivered: number[] = []
  const data: unknown[] = []
  const replays: number[] = []
  /** Already-delivered events that came again. */
  const duplicates: number[] = []
  const resyncs: ResyncInfo[] = []
  /** Every hook call in order, to check what comes before what. */
  const log: string[] = []
  const stats: Stats = { messages: 0, duplicates: 0, gaps: 0, replayed: 0, resyncs: 0, reconnects: 0, rtt: null, transport: null, sequenced: true }
  const seq = new Sequencer(
    {
      deliver: (e) => {
        delivered.push(e.seq)
        data.push(e.data)
        log.push(`deliver ${e.seq}`)
      },
      requestReplay: (after) => {
        replays.push(after)
        log.push(`replay ${after}`)
      },
      duplicate: (e) => {
        duplicates.push(e.seq)
        log.push(`duplicate ${e.seq}`)
      },
      resync: (info) => {
        resyncs.push(info)
        log.push(`resync ${info.reason}`)
      },
    },
    { timeout: TIMEOUT, maxBuffer: 1000, ...options },
    stats,
  )
  const push = (...seqs: number[]): void => {
    for (const s of seqs) seq.push(ev(s))
  }
  return { seq, push, delivered, data, replays, duplicates, resyncs, log, stats }
}

/** Delivery is strictly increasing, with no repeats. */
function expectStrictlyIncreasing(seqs: readonly number[]): void {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number)
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Sequencer: in order', () => {
  it('delivers events in order, each with its own data, and opens no timer', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2, 3)
    expect(t.delivered).toEqual([1, 2, 3])
    expect(t.data).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    expect(t.replays).toEqual([])
    expect(t.resyncs).toEqual([])
    expect(t.stats).toMatchObject({ duplicates: 0, gaps: 0, replayed: 0, resyncs: 0 })
    expect(t.seq.last).toBe(3)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('starts after the seq announced by the first welcome, without a resync', () => {
    const t = setup()
    t.seq.begin('s1', false, 41, true)
    expect(t.seq.session).toBe('s1')
    expect(t.seq.last).toBe(41)
    t.push(41, 42, 43)
    expect(t.delivered).toEqual([42, 43])
    expect(t.stats.duplicates).toBe(1)
    expect(t.resyncs).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('drops and counts duplicates, delivered or held', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2, 2, 1, 3)
    expect(t.delivered).toEqual([1, 2, 3])
    expect(t.stats.duplicates).toBe(2)
    t.push(5, 5)
    expect(t.stats.duplicates).toBe(3)
    t.push(4)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5])
    t.push(4, 5)
    expect(t.stats.duplicates).toBe(5)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5])
    // only copies of delivered events are reported (their ack may have been lost); a held copy is not
    expect(t.duplicates).toEqual([2, 1, 4, 5])
  })
})

describe('Sequencer: gaps and replay', () => {
  it('a gap sends exactly one replay request after the last delivered seq and holds later events until it is filled', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3)
    expect(t.delivered).toEqual([1])
    expect(t.replays).toEqual([1])
    expect(t.stats.gaps).toBe(1)
    t.push(4, 5)
    expect(t.delivered).toEqual([1])
    expect(t.replays).toEqual([1])
    expect(t.stats.gaps).toBe(1)
    expect(vi.getTimerCount()).toBe(1)
    t.push(2)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5])
    expect(t.data).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })))
    expect(t.stats.replayed).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(TIMEOUT * 10)
    expect(t.resyncs).toEqual([])
  })

  it('counts replayed events and duplicates when the server resends the whole range', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 4, 5)
    expect(t.replays).toEqual([1])
    // the replay answers with every event after 1
    t.push(2, 3, 4, 5)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5])
    expect(t.stats).toMatchObject({ replayed: 2, duplicates: 2, gaps: 1, resyncs: 0 })
  })

  it('a second gap after the first was filled asks again, after the new last seq', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3, 2, 4, 6)
    expect(t.delivered).toEqual([1, 2, 3, 4])
    expect(t.replays).toEqual([1, 4])
    expect(t.stats.gaps).toBe(2)
  })

  it('several holes: one request, partial fills deliver what became contiguous, the clock keeps running from the first gap', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3, 5, 6, 9)
    expect(t.delivered).toEqual([1])
    expect(t.replays).toEqual([1])
    vi.advanceTimersByTime(3000)
    t.push(2)
    expect(t.delivered).toEqual([1, 2, 3])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(TIMEOUT - 3000 - 1)
    expect(t.resyncs).toEqual([])
    vi.advanceTimersByTime(1)
    // missing: 4, 7, 8
    expect(t.resyncs).toEqual([{ reason: 'replay_timeout', from: 4, to: 8, missed: 3 }])
    expect(t.delivered).toEqual([1, 2, 3, 5, 6, 9])
    expect(t.replays).toEqual([1])
    expect(t.stats).toMatchObject({ gaps: 1, resyncs: 1, replayed: 1 })
    expect(vi.getTimerCount()).toBe(0)
    t.push(7, 8, 10)
    expect(t.delivered).toEqual([1, 2, 3, 5, 6, 9, 10])
    expect(t.stats.duplicates).toBe(2)
  })

  it('replay_failed: exactly one resync with the exact range, then the held events in order', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 4, 5)
    t.seq.replayFailed(5)
    expect(t.resyncs).toEqual([{ reason: 'replay_failed', from: 2, to: 3, missed: 2 }])
    expect(t.log).toEqual(['deliver 1', 'replay 1', 'resync replay_failed', 'deliver 4', 'deliver 5'])
    expect(t.stats.resyncs).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(TIMEOUT * 2)
    expect(t.resyncs).toHaveLength(1)
    t.push(2, 3, 6)
    expect(t.delivered).toEqual([1, 4, 5, 6])
  })

  it('replay_failed covers the holes up to the announced head, even past the held events', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 4, 6)
    t.seq.replayFailed(8)
    // missing: 2, 3, 5, 7, 8
    expect(t.resyncs).toEqual([{ reason: 'replay_failed', from: 2, to: 8, missed: 5 }])
    expect(t.delivered).toEqual([1, 4, 6])
    expect(t.seq.last).toBe(8)
    t.push(8, 9)
    expect(t.delivered).toEqual([1, 4, 6, 9])
  })

  it('replay_failed with nothing missing reports nothing', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2)
    t.seq.replayFailed(2)
    expect(t.resyncs).toEqual([])
    expect(t.delivered).toEqual([1, 2])
  })

  it('replay_failed keeps asking for a hole above its head', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3, 6)
    t.seq.replayFailed(3)
    expect(t.resyncs).toEqual([{ reason: 'replay_failed', from: 2, to: 2, missed: 1 }])
    expect(t.delivered).toEqual([1, 3])
    // 4 and 5 may still come: a new request, a new clock
    expect(t.replays).toEqual([1, 3])
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(TIMEOUT)
    expect(t.resyncs).toEqual([
      { reason: 'replay_failed', from: 2, to: 2, missed: 1 },
      { reason: 'replay_timeout', from: 4, to: 5, missed: 2 },
    ])
    expect(t.delivered).toEqual([1, 3, 6])
  })

  it('timeout: one resync replay_timeout with the exact range, then the held events', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 4, 5)
    vi.advanceTimersByTime(TIMEOUT - 1)
    expect(t.resyncs).toEqual([])
    expect(t.delivered).toEqual([1])
    vi.advanceTimersByTime(1)
    expect(t.resyncs).toEqual([{ reason: 'replay_timeout', from: 2, to: 3, missed: 2 }])
    expect(t.log).toEqual(['deliver 1', 'replay 1', 'resync replay_timeout', 'deliver 4', 'deliver 5'])
    expect(t.stats.resyncs).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(TIMEOUT * 10)
    expect(t.resyncs).toHaveLength(1)
    expect(t.replays).toEqual([1])
  })
})

describe('Sequencer: bounded buffer', () => {
  it('buffer_full gives up the oldest hole when maxBuffer is exceeded and asks again for the rest', () => {
    const t = setup({ maxBuffer: 3 })
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3, 4, 6)
    expect(t.resyncs).toEqual([])
    t.push(8)
    expect(t.resyncs).toEqual([{ reason: 'buffer_full', from: 2, to: 2, missed: 1 }])
    expect(t.delivered).toEqual([1, 3, 4])
    expect(t.replays).toEqual([1, 4])
    expect(t.stats).toMatchObject({ gaps: 2, resyncs: 1 })
    t.push(5, 7)
    expect(t.delivered).toEqual([1, 3, 4, 5, 6, 7, 8])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('buffer_full when the new event lands inside the oldest hole: only the part below it is lost', () => {
    const t = setup({ maxBuffer: 2 })
    t.seq.begin('s1', false, 0, true)
    t.push(1, 5, 6)
    t.push(3)
    expect(t.resyncs).toEqual([{ reason: 'buffer_full', from: 2, to: 2, missed: 1 }])
    expect(t.delivered).toEqual([1, 3])
    t.push(4)
    expect(t.delivered).toEqual([1, 3, 4, 5, 6])
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(TIMEOUT * 2)
    expect(t.resyncs).toHaveLength(1)
    expect(t.delivered).toEqual([1, 3, 4, 5, 6])
  })

  it('maxBuffer 0 gives every hole up at once, without asking', () => {
    const t = setup({ maxBuffer: 0 })
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3)
    expect(t.resyncs).toEqual([{ reason: 'buffer_full', from: 2, to: 2, missed: 1 }])
    expect(t.delivered).toEqual([1, 3])
    expect(t.replays).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    t.push(4)
    expect(t.delivered).toEqual([1, 3, 4])
  })
})

describe('Sequencer: sessions', () => {
  it('a new session (resumed:false after a known one) reports new_session once and clears what was held', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2, 4)
    expect(vi.getTimerCount()).toBe(1)
    t.seq.begin('s2', false, 10, true)
    expect(t.resyncs).toEqual([{ reason: 'new_session', from: 3, to: null, missed: null }])
    expect(t.stats.resyncs).toBe(1)
    expect(t.seq.session).toBe('s2')
    expect(t.seq.last).toBe(10)
    expect(vi.getTimerCount()).toBe(0)
    t.push(11)
    expect(t.delivered).toEqual([1, 2, 11])
    vi.advanceTimersByTime(TIMEOUT * 2)
    expect(t.resyncs).toHaveLength(1)
  })

  it('a different session id is a new session even when resumed is true', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1)
    t.seq.begin('s2', true, 0, true)
    expect(t.resyncs).toEqual([{ reason: 'new_session', from: 2, to: null, missed: null }])
    expect(t.seq.session).toBe('s2')
    // seqs start over in the new session
    t.push(1)
    expect(t.delivered).toEqual([1, 1])
  })

  it('the first session reports no resync', () => {
    const t = setup()
    t.seq.begin('s1', false, 7, true)
    t.seq.begin('s1', true, 7, true)
    expect(t.resyncs).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a resume whose head is past the last seq waits for the replay without asking, and needs no resync when it comes', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2, 3)
    t.seq.stop()
    t.seq.begin('s1', true, 6, true)
    expect(t.replays).toEqual([])
    expect(vi.getTimerCount()).toBe(1)
    t.push(4, 5, 6)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5, 6])
    expect(t.stats.replayed).toBe(3)
    expect(t.stats.gaps).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(TIMEOUT * 2)
    expect(t.resyncs).toEqual([])
  })

  it('a resume whose replay does not arrive in time reports replay_timeout up to the head', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2, 3)
    t.seq.begin('s1', true, 6, true)
    t.push(4)
    vi.advanceTimersByTime(TIMEOUT)
    expect(t.resyncs).toEqual([{ reason: 'replay_timeout', from: 5, to: 6, missed: 2 }])
    expect(t.delivered).toEqual([1, 2, 3, 4])
    t.push(5, 6, 7)
    expect(t.delivered).toEqual([1, 2, 3, 4, 7])
    expect(t.stats.duplicates).toBe(2)
  })

  it('a resume with nothing new and nothing held starts no timer', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 2)
    t.seq.begin('s1', true, 2, true)
    expect(vi.getTimerCount()).toBe(0)
    expect(t.replays).toEqual([])
  })

  it('a resume with held events but no newer head asks for the hole again', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3)
    t.seq.stop()
    t.seq.begin('s1', true, 3, true)
    // the server replays after `last` by itself (hello carried it): the clock runs, no extra request
    expect(t.replays).toEqual([1])
    expect(vi.getTimerCount()).toBe(1)
    t.push(2)
    expect(t.delivered).toEqual([1, 2, 3])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a poll answer (no replay expected) with held events asks for the hole, and its events are not counted as replayed', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, false)
    t.push(1, 2)
    t.seq.begin('s1', true, 5, false)
    expect(vi.getTimerCount()).toBe(0)
    t.push(3, 4, 5)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5])
    expect(t.stats).toMatchObject({ replayed: 0, gaps: 0, duplicates: 0 })

    t.push(7)
    expect(t.replays).toEqual([5])
    t.seq.stop()
    t.seq.begin('s1', true, 9, false)
    expect(t.replays).toEqual([5, 5])
    expect(vi.getTimerCount()).toBe(1)
    t.push(6, 7, 8, 9)
    expect(t.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(t.stats.replayed).toBe(1)
  })

  it('stop() keeps held events but stops the clock', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3)
    expect(vi.getTimerCount()).toBe(1)
    t.seq.stop()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(TIMEOUT * 10)
    expect(t.resyncs).toEqual([])
    t.push(2)
    expect(t.delivered).toEqual([1, 2, 3])
  })

  it('reset() forgets the session, the last seq and what was held', () => {
    const t = setup()
    t.seq.begin('s1', false, 0, true)
    t.push(1, 3)
    t.seq.reset()
    expect(t.seq.session).toBeNull()
    expect(t.seq.last).toBeNull()
    expect(vi.getTimerCount()).toBe(0)
    // a fresh start is a first session: no resync, and 3 is no longer held (not a duplicate)
    t.seq.begin('s9', false, 1, true)
    expect(t.resyncs).toEqual([])
    t.push(3)
    expect(t.stats.duplicates).toBe(0)
    expect(t.replays).toEqual([1, 1])
    t.push(2)
    expect(t.delivered).toEqual([1, 2, 3])
  })
})

describe('Sequencer: properties', () => {
  /**
   * Whatever order and repetition events arrive in, with replay failures and timeouts in between:
   * delivery is strictly increasing, and every seq up to the last is either delivered or counted
   * as missed by exactly one resync.
   */
  it('delivers in strict order and accounts for every seq exactly once', () => {
    const step = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 1, max: 40 }).map((seq) => ({ kind: 'push' as const, seq })) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: TIMEOUT * 2 }).map((ms) => ({ kind: 'wait' as const, ms })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 45 }).map((head) => ({ kind: 'failed' as const, head })) },
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.integer({ min: 0, max: 6 }), (steps, maxBuffer) => {
        vi.clearAllTimers()
        const t = setup({ maxBuffer })
        t.seq.begin('s1', false, 0, true)
        for (const s of steps) {
          if (s.kind === 'push') t.push(s.seq)
          else if (s.kind === 'wait') vi.advanceTimersByTime(s.ms)
          else t.seq.replayFailed(s.head)
        }
        vi.advanceTimersByTime(TIMEOUT)
        expectStrictlyIncreasing(t.delivered)
        expect(vi.getTimerCount()).toBe(0)
        const last = t.seq.last ?? 0
        const missed = t.resyncs.reduce((n, r) => n + (r.missed ?? 0), 0)
        expect(t.delivered.length + missed).toBe(last)
        expect(t.delivered.every((s) => s <= last)).toBe(true)
        expect(t.stats.resyncs).toBe(t.resyncs.length)
      }),
      { numRuns: 500 },
    )
  })

  it('delivers 1..n exactly, in order and without resync, when every seq arrives (in any order, with repeats) in time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.shuffledSubarray(
              Array.from({ length: n * 2 }, (_, i) => (i % n) + 1),
              { minLength: n * 2, maxLength: n * 2 },
            ),
          ),
        ),
        ([n, order]) => {
          vi.clearAllTimers()
          const t = setup()
          t.seq.begin('s1', false, 0, true)
          t.push(...order)
          expect(t.delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1))
          expect(t.resyncs).toEqual([])
          expect(t.stats.duplicates).toBe(n)
          expect(vi.getTimerCount()).toBe(0)
        },
      ),
      { numRuns: 300 },
    )
  })
})
