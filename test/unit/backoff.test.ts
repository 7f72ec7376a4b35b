import { afterEach, describe, expect, it, vi } from 'vitest'
import { Backoff, backoffDelay, type BackoffOptions } from '../../src/backoff.js'
import { prng } from '../prng.js'

const exact: BackoffOptions = { minDelay: 1000, maxDelay: 16000, factor: 2, jitter: 0 }
const jittered: BackoffOptions = { ...exact, jitter: 0.2 }
const STEPS = [1000, 2000, 4000, 8000, 16000, 16000, 16000, 16000]


afterEach(() => {
  vi.restoreAllMocks()
})

describe('backoffDelay', () => {
  it('with jitter 0 follows 1s, 2s, 4s, 8s, 16s, then stays at 16s', () => {
    expect(STEPS.map((_, attempt) => backoffDelay(attempt, exact, () => 0.73))).toEqual(STEPS)
  })

  it('stays at the cap for very large attempt numbers (no Infinity or NaN)', () => {
    expect(backoffDelay(2000, exact)).toBe(16000)
    expect(backoffDelay(2000, jittered, () => 1)).toBe(16000)
  })

  it('with jitter 0.2 and random() = 0 gives the bottom of each band', () => {
    expect(STEPS.map((_, attempt) => backoffDelay(attempt, jittered, () => 0))).toEqual([
      800, 1600, 3200, 6400, 12800, 12800, 12800, 12800,
    ])
  })

  it('with jitter 0.2 and random() = 0.5 gives the middle of each band (the cap band is clipped at maxDelay)', () => {
    expect(STEPS.map((_, attempt) => backoffDelay(attempt, jittered, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000, 14400, 14400, 14400, 14400,
    ])
  })

  it('with jitter 0.2 and random() = 1 gives the top of each band, never above maxDelay', () => {
    expect(STEPS.map((_, attempt) => backoffDelay(attempt, jittered, () => 1))).toEqual([
      1200, 2400, 4800, 9600, 16000, 16000, 16000, 16000,
    ])
  })

  it('a seeded sweep keeps every delay within ±20% of its step and never above maxDelay, and spreads over the band', () => {
    const random = prng(20240601)
    STEPS.forEach((step, attempt) => {
      const delays = Array.from({ length: 2000 }, () => backoffDelay(attempt, jittered, random))
      const lo = step * 0.8
      const hi = Math.min(step * 1.2, 16000)
      expect(delays.filter((d) => !Number.isInteger(d) || d < lo || d > hi)).toEqual([])
      // jitter is really applied: both ends of the band are reached (within 2% of its width)
      expect(Math.min(...delays)).toBeLessThan(lo + (hi - lo) * 0.02)
      expect(Math.max(...delays)).toBeGreaterThan(hi - (hi - lo) * 0.02)
    })
  })
})

describe('Backoff', () => {
  it('next() walks the schedule and stays at the cap', () => {
    const b = new Backoff(exact)
    expect(STEPS.map(() => b.next())).toEqual(STEPS)
  })

  it('next() jitters with Math.random within ±20%', () => {
    const random = vi.spyOn(Math, 'random')
    const b = new Backoff(jittered)
    random.mockReturnValue(0)
    expect([b.next(), b.next()]).toEqual([800, 1600])
    random.mockReturnValue(1)
    expect([b.next(), b.next(), b.next()]).toEqual([4800, 9600, 16000])
  })

  it('max() lands at the cap at once, and the schedule goes on from there', () => {
    const b = new Backoff(exact)
    expect(b.next()).toBe(1000)
    expect(b.max()).toBe(16000)
    expect(b.next()).toBe(16000)
    expect(b.next()).toBe(16000)
  })

  it('max() is jittered downwards only (never above maxDelay)', () => {
    const random = vi.spyOn(Math, 'random')
    const b = new Backoff(jittered)
    random.mockReturnValue(0)
    expect(b.max()).toBe(12800)
    random.mockReturnValue(1)
    expect(b.max()).toBe(16000)
  })

  it('max() works with factor 1 (constant delays): the cap, not NaN; next() stays at minDelay', () => {
    const b = new Backoff({ minDelay: 1000, maxDelay: 16000, factor: 1, jitter: 0 })
    expect(b.max()).toBe(16000)
    expect([b.next(), b.next()]).toEqual([1000, 1000])
    const same = new Backoff({ minDelay: 5000, maxDelay: 5000, factor: 1, jitter: 0 })
    expect(same.max()).toBe(5000)
    expect(same.next()).toBe(5000)
  })

  it('reset() goes back to the first step', () => {
    const b = new Backoff(exact)
    b.next()
    b.next()
    b.next()
    b.reset()
    expect([b.next(), b.next()]).toEqual([1000, 2000])
    b.max()
    b.reset()
    expect(b.next()).toBe(1000)
  })
})
