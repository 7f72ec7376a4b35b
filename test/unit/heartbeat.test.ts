import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Heartbeat } from '../../src/heartbeat.js'

const INTERVAL = 30000
const TIMEOUT = 10000

function setup() {
  const pings: number[] = []
  const rtts: number[] = []
  let deaths = 0
  const hb = new Heartbeat({
    ping: (id) => pings.push(id),
    dead: () => {
      deaths++
    },
    rtt: (ms) => rtts.push(ms),
  })
  return { hb, pings, rtts, deaths: () => deaths }
}

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Heartbeat', () => {
  it('pings once every interval while frames keep coming', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(INTERVAL - 1)
    expect(t.pings).toEqual([])
    vi.advanceTimersByTime(1)
    expect(t.pings).toEqual([1])
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(100)
      t.hb.seen()
      vi.advanceTimersByTime(INTERVAL - 100)
    }
    expect(t.pings).toEqual([1, 2, 3, 4])
    expect(t.deaths()).toBe(0)
  })

  it('calls dead() once when no frame arrives within timeout of a ping, and stops', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(INTERVAL)
    expect(t.pings).toEqual([1])
    vi.advanceTimersByTime(TIMEOUT - 1)
    expect(t.deaths()).toBe(0)
    vi.advanceTimersByTime(1)
    expect(t.deaths()).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(INTERVAL * 10)
    expect(t.deaths()).toBe(1)
    expect(t.pings).toEqual([1])
  })

  it('any frame cancels the watchdog; the next unanswered ping arms it again', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(INTERVAL + TIMEOUT - 1)
    t.hb.seen()
    vi.advanceTimersByTime(1)
    expect(t.deaths()).toBe(0)
    vi.advanceTimersByTime(INTERVAL - TIMEOUT)
    expect(t.pings).toEqual([1, 2])
    vi.advanceTimersByTime(TIMEOUT)
    expect(t.deaths()).toBe(1)
  })

  it('the watchdog runs from the first unanswered ping when the interval is shorter than the timeout', () => {
    const t = setup()
    t.hb.start(1000, 5000)
    vi.advanceTimersByTime(5999)
    expect(t.pings).toEqual([1, 2, 3, 4, 5])
    expect(t.deaths()).toBe(0)
    vi.advanceTimersByTime(1)
    expect(t.deaths()).toBe(1)
    expect(t.pings).toEqual([1, 2, 3, 4, 5])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('reports the round trip of an answered ping', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(INTERVAL)
    vi.advanceTimersByTime(42)
    t.hb.seen()
    t.hb.pong(1)
    expect(t.rtts).toEqual([42])
    // the same pong again, or one we never sent, reports nothing
    t.hb.pong(1)
    t.hb.pong(99)
    t.hb.pong('1')
    expect(t.rtts).toEqual([42])
    vi.advanceTimersByTime(INTERVAL - 42 + 7)
    t.hb.seen()
    t.hb.pong(2)
    expect(t.rtts).toEqual([42, 7])
  })

  it('probe() pings at once and watches for an answer', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(1000)
    t.hb.probe()
    expect(t.pings).toEqual([1])
    vi.advanceTimersByTime(TIMEOUT - 1)
    expect(t.deaths()).toBe(0)
    vi.advanceTimersByTime(1)
    expect(t.deaths()).toBe(1)
  })

  it('probe() finds a link silent longer than interval + timeout dead at once (timers were frozen)', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(5000)
    t.hb.seen()
    // the wall clock jumps ahead; no timer got to run
    vi.setSystemTime(Date.now() + INTERVAL + TIMEOUT + 1)
    t.hb.probe()
    expect(t.deaths()).toBe(1)
    expect(t.pings).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(INTERVAL * 10)
    expect(t.deaths()).toBe(1)
  })

  it('probe() finds the silent link dead at once also when the overdue tick ran first and armed a watchdog (a resumed page runs its timers before the signal)', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(INTERVAL)
    t.hb.seen()
    t.hb.pong(1)
    // the page is held: the clock moves on, no timer runs
    vi.setSystemTime(Date.now() + INTERVAL + TIMEOUT)
    // it runs again: the overdue tick pings and arms a watchdog that would give up `timeout` later
    vi.advanceTimersByTime(INTERVAL)
    expect(t.pings).toEqual([1, 2])
    expect(t.deaths()).toBe(0)
    t.hb.probe()
    expect(t.deaths()).toBe(1)
    expect(t.pings).toEqual([1, 2])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('probe() at exactly interval + timeout of silence still pings instead', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.setSystemTime(Date.now() + INTERVAL + TIMEOUT)
    t.hb.probe()
    expect(t.deaths()).toBe(0)
    expect(t.pings).toEqual([1])
  })

  it('a healthy idle link survives ticks throttled to once a minute (hidden tab)', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    for (let i = 1; i <= 5; i++) {
      // each tick comes 30 s late: the clock moves on while timers are held back, then the tick runs
      vi.setSystemTime(Date.now() + INTERVAL)
      vi.advanceTimersByTime(INTERVAL)
      expect(t.pings).toHaveLength(i)
      // the server answers at once
      t.hb.seen()
      t.hb.pong(i)
    }
    expect(t.pings).toEqual([1, 2, 3, 4, 5])
    expect(t.rtts).toEqual([0, 0, 0, 0, 0])
    expect(t.deaths()).toBe(0)
  })

  it('probe() does nothing before start() or after stop()', () => {
    const t = setup()
    t.hb.probe()
    expect(t.pings).toEqual([])
    t.hb.start(INTERVAL, TIMEOUT)
    t.hb.stop()
    vi.setSystemTime(Date.now() + INTERVAL * 10)
    t.hb.probe()
    expect(t.pings).toEqual([])
    expect(t.deaths()).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stop() leaves no timers, also with a watchdog armed', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(INTERVAL)
    expect(vi.getTimerCount()).toBe(2)
    t.hb.stop()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(INTERVAL * 10)
    expect(t.pings).toEqual([1])
    expect(t.deaths()).toBe(0)
  })

  it('start() again restarts the schedule from now and forgets the old watchdog', () => {
    const t = setup()
    t.hb.start(INTERVAL, TIMEOUT)
    vi.advanceTimersByTime(INTERVAL + TIMEOUT - 1)
    t.hb.start(5000, 2000)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(4999)
    expect(t.deaths()).toBe(0)
    expect(t.pings).toEqual([1])
    vi.advanceTimersByTime(1)
    expect(t.pings).toEqual([1, 2])
    vi.advanceTimersByTime(2000)
    expect(t.deaths()).toBe(1)
  })
})
