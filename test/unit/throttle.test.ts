import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { throttle } from '../../src/throttle.js'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('throttle', () => {
  it('calls on the trailing edge, not at once', () => {
    const fn = vi.fn<(n: number) => void>()
    const t = throttle(fn, 100)
    t(1)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(99)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn.mock.calls).toEqual([[1]])
  })

  it('calls once with the latest arguments of a burst', () => {
    const fn = vi.fn<(a: string, b: number) => void>()
    const t = throttle(fn, 100)
    t('a', 1)
    t('b', 2)
    t('c', 3)
    vi.advanceTimersByTime(100)
    expect(fn.mock.calls).toEqual([['c', 3]])
    vi.advanceTimersByTime(1000)
    expect(fn).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('calls at most once per interval under a steady stream, each time with the latest value', () => {
    const at: number[] = []
    const start = Date.now()
    const fn = vi.fn((n: number) => {
      at.push(Date.now() - start)
      return n
    })
    const t = throttle(fn, 100)
    for (let i = 0; i < 50; i++) {
      t(i)
      vi.advanceTimersByTime(10)
    }
    expect(fn.mock.calls).toEqual([[9], [19], [29], [39], [49]])
    expect(at).toEqual([100, 200, 300, 400, 500])
  })

  it('works with no arguments', () => {
    const fn = vi.fn<() => void>()
    const t = throttle(fn, 50)
    t()
    t()
    vi.advanceTimersByTime(50)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('cancel() drops the pending call and leaves no timer', () => {
    const fn = vi.fn<(n: number) => void>()
    const t = throttle(fn, 100)
    t(1)
    vi.advanceTimersByTime(50)
    t.cancel()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(1000)
    expect(fn).not.toHaveBeenCalled()
  })

  it('cancel() after a call has run does not undo it and leaves nothing behind', () => {
    const fn = vi.fn<(n: number) => void>()
    const t = throttle(fn, 100)
    t(1)
    vi.advanceTimersByTime(100)
    t(2)
    t.cancel()
    vi.advanceTimersByTime(1000)
    expect(fn.mock.calls).toEqual([[1]])
  })
})
