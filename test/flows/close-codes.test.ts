import { describe, expect, it, vi } from 'vitest'
import { FAST, WS_URL, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

/** A `url` function that hands out a fresh token per call, and remembers when it was called. */
function tokenUrl() {
  const calls: number[] = []
  const url = vi.fn(() => {
    calls.push(Date.now())
    return `${WS_URL}?token=t${calls.length}`
  })
  return { url, calls }
}

describe('close codes', () => {
  it('4001: the url function is called again for a fresh token and the client retries', async () => {
    const { url } = tokenUrl()
    const c = client({ url, ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    expect(url).toHaveBeenCalledTimes(1)
    fake.dropConnection(4001, 'token expired')
    await expect.poll(() => fake.messages('hello').length).toBe(2)
    await expect.poll(() => c.status).toBe('open')
    expect(url).toHaveBeenCalledTimes(2)
    expect(fake.urls).toEqual([`${WS_URL}?token=t1`, `${WS_URL}?token=t2`])
    expect(r.errors).toEqual([])
    expect(c.stats.reconnects).toBe(1)
  })

  it('three 4001s in a row with no welcome: status closed and exactly one unauthorized error', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.refuseWebSocket({ code: 4001, on: 'hello' })
    const { url } = tokenUrl()
    const c = client({ url, ...FAST, reconnect: { ...FAST.reconnect, maxAttempts: 10 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('closed')
    expect(r.errors.map((e) => e.code)).toEqual(['unauthorized'])
    expect(fake.connections).toBe(3)
    expect(url).toHaveBeenCalledTimes(3)
    expect(new Set(fake.urls).size).toBe(3) // a fresh token each time
    expect(r.statuses).toEqual(['connecting', 'reconnecting', 'closed'])
    // it stays down: nothing is scheduled any more
    expect(vi.getTimerCount()).toBe(0)
    fake.refuseWebSocket(false)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fake.connections).toBe(3)
    expect(r.errors).toHaveLength(1)
  })

  it('three 4001s in a row stop the client even with a pollUrl to fall back to', async () => {
    fake.refuseWebSocket({ code: 4001 })
    const c = client({ ...FAST, pollUrl: 'https://api.test/api/events' })
    const r = record(c)
    await expect.poll(() => c.status).toBe('closed')
    expect(r.errors.map((e) => e.code)).toEqual(['unauthorized'])
    expect(fake.polls).toEqual([])
  })

  it('a welcome between 4001s resets the count', async () => {
    const c = client({ ...FAST })
    const r = record(c)
    for (let i = 0; i < 4; i++) {
      await expect.poll(() => c.status).toBe('open')
      fake.dropConnection(4001)
      await expect.poll(() => c.status).not.toBe('open')
    }
    await expect.poll(() => c.status).toBe('open')
    expect(r.errors).toEqual([])
    expect(fake.connections).toBe(5)
  })

  it('4008: the next attempt waits the maximum delay', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const { url, calls } = tokenUrl()
    const reconnect = { minDelay: 100, maxDelay: 2000, factor: 2, jitter: 0.2 }
    const c = client({ url, reconnect })
    await expect.poll(() => c.status).toBe('open')
    const dropped = Date.now()
    fake.dropConnection(4008, 'over capacity')
    await expect.poll(() => c.status).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(reconnect.maxDelay * (1 - reconnect.jitter) - 100)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(reconnect.maxDelay * reconnect.jitter + 200)
    await expect.poll(() => c.status).toBe('open')
    expect(calls).toHaveLength(2)
    expect(calls[1]! - dropped).toBeGreaterThanOrEqual(reconnect.maxDelay * (1 - reconnect.jitter))
    expect(calls[1]! - dropped).toBeLessThanOrEqual(reconnect.maxDelay + 100)
  })

  it('an ordinary drop waits only the first step', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const { url, calls } = tokenUrl()
    const reconnect = { minDelay: 1000, maxDelay: 16_000, factor: 2, jitter: 0.2 }
    const c = client({ url, reconnect })
    await expect.poll(() => c.status).toBe('open')
    const dropped = Date.now()
    fake.dropConnection(1006)
    await expect.poll(() => c.status).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(1300)
    await expect.poll(() => c.status).toBe('open')
    expect(calls[1]! - dropped).toBeGreaterThanOrEqual(800)
    expect(calls[1]! - dropped).toBeLessThanOrEqual(1300)
  })

  it('4400: a protocol error is reported and the client reconnects', async () => {
    const c = client({ ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.dropConnection(4400, 'unexpected frame')
    await expect.poll(() => r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ code: 'protocol' })
    expect(r.errors[0]!.message).toContain('unexpected frame')
    expect(fake.connections).toBe(2)
    expect(c.stats.reconnects).toBe(1)
  })

  it.each([1000, 1001, 1011, 1012])('a server close with %i is followed by a reconnect', async (code) => {
    const c = client({ ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
    fake.dropConnection(code)
    fake.publish('alert', 2, { deliver: false })
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    expect(r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(fake.messages('hello').at(-1)).toMatchObject({ session: 's-1', after: 1 })
    expect(r.errors).toEqual([])
  })

  it('reconnect() drops the socket, calls the url function anew and resumes the session', async () => {
    const { url } = tokenUrl()
    const c = client({ url, ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
    c.reconnect()
    await expect.poll(() => fake.messages('hello')).toHaveLength(2)
    await expect.poll(() => c.status).toBe('open')
    expect(url).toHaveBeenCalledTimes(2)
    expect(fake.urls).toEqual([`${WS_URL}?token=t1`, `${WS_URL}?token=t2`])
    expect(fake.messages('hello')[1]).toMatchObject({ session: 's-1', after: 1 })
    expect(r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(c.stats.reconnects).toBe(1)
    await expect.poll(() => fake.openSockets).toBe(1)
    fake.publish('alert', 2)
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    expect(r.resyncs).toEqual([])
  })

  it('a browser "online" event cuts a reconnect wait short', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const win = new EventTarget()
    vi.stubGlobal('addEventListener', win.addEventListener.bind(win))
    vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win))
    const c = client({ reconnect: { minDelay: 10_000, maxDelay: 10_000, jitter: 0 } })
    await expect.poll(() => c.status).toBe('open')
    fake.dropConnection(1006)
    await expect.poll(() => c.status).toBe('reconnecting')
    win.dispatchEvent(new Event('online'))
    await expect.poll(() => c.status).toBe('open')
    expect(fake.connections).toBe(2)
  })
})
