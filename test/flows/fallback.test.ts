import { describe, expect, it, vi } from 'vitest'
import { FAST, POLL_URL, range, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

describe('HTTP polling fallback', () => {
  it('falls back after maxAttempts refused sockets and moves back to WebSocket, losing and repeating nothing', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.refuseWebSocket(true)
    const upgradeInterval = 5_000
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 200, upgradeInterval } })
    const r = record(c)
    let pollingSince = 0
    c.on('status', (s) => {
      if (s === 'polling') pollingSince = Date.now()
    })
    await expect.poll(() => c.status).toBe('polling')
    expect(fake.connections).toBe(FAST.reconnect.maxAttempts)
    expect(r.statuses).toEqual(['connecting', 'reconnecting', 'polling'])
    await expect.poll(() => c.stats.transport).toBe('polling')
    expect(fake.polls[0]).toMatchObject({ session: null, after: null, events: [] })

    let n = 0
    const publish = (count: number) => {
      for (let i = 0; i < count; i++) fake.publish('tick', ++n)
    }
    publish(3)
    await expect.poll(() => r.seqs()).toEqual(range(1, 3))
    expect(fake.polls.at(-1)).toMatchObject({ session: 's-1' })

    // WebSocket is allowed again; the client keeps polling until the next upgrade probe
    fake.refuseWebSocket(false)
    publish(2)
    await expect.poll(() => r.seqs()).toEqual(range(1, 5))
    await vi.advanceTimersByTimeAsync(pollingSince + upgradeInterval - Date.now() - 300)
    publish(1)
    await expect.poll(() => r.seqs()).toEqual(range(1, 6))
    expect(c.status).toBe('polling')
    expect(fake.connections).toBe(FAST.reconnect.maxAttempts)
    publish(2) // in flight when the probe goes out
    await vi.advanceTimersByTimeAsync(400)
    await expect.poll(() => c.status).toBe('open')
    expect(fake.connections).toBe(FAST.reconnect.maxAttempts + 1)
    expect(c.stats.transport).toBe('websocket')
    expect(fake.messages('hello').at(-1)).toMatchObject({ type: 'hello', session: 's-1' })
    publish(3)
    await expect.poll(() => r.seqs()).toEqual(range(1, 11))
    expect(r.events.map((e) => e.data)).toEqual(range(1, 11))
    expect(r.resyncs).toEqual([])
    expect(r.errors).toEqual([])
    expect(r.statuses).toEqual(['connecting', 'reconnecting', 'polling', 'open'])
    // polling stopped with the upgrade
    const polls = fake.polls.length
    await vi.advanceTimersByTimeAsync(1_000)
    publish(1)
    await expect.poll(() => r.seqs()).toEqual(range(1, 12))
    expect(fake.polls.length).toBe(polls)
  })

  it('probes WebSocket every upgradeInterval while it stays refused', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.refuseWebSocket(true)
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 10_000, upgradeInterval: 1000 } })
    await expect.poll(() => c.status).toBe('polling')
    expect(fake.connections).toBe(3)
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => fake.connections).toBe(4)
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => fake.connections).toBe(5)
    expect(c.status).toBe('polling')
  })

  it('moves between the transports in both directions without loss or repeat', async () => {
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 20, upgradeInterval: 100 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('x', 1)
    fake.publish('x', 2)
    await expect.poll(() => r.seqs()).toEqual([1, 2])

    // the WebSocket goes away: events issued meanwhile come over polling
    fake.refuseWebSocket(true)
    fake.dropConnection(1006)
    fake.publish('x', 3, { deliver: false })
    await expect.poll(() => c.status).toBe('polling')
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    expect(fake.polls[0]).toMatchObject({ session: 's-1', after: 2 })
    fake.publish('x', 4)
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3, 4])

    fake.refuseWebSocket(false)
    fake.publish('x', 5)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('x', 6)
    await expect.poll(() => r.seqs()).toEqual(range(1, 6))
    expect(r.resyncs).toEqual([])
    expect(r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'polling', 'open'])
  })

  it('goes straight to polling when there is no WebSocket at all', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 20 }, subscribe: ['alert'], autoConnect: false })
    const r = record(c)
    c.connect()
    expect(c.status).toBe('polling')
    expect(r.statuses).toEqual(['idle', 'connecting', 'polling'])
    await expect.poll(() => fake.polls.length).toBeGreaterThan(0)
    expect(fake.polls[0]).toMatchObject({ session: null, after: null, events: ['alert'], wait: 0 })
    fake.publish('alert', { id: 1 })
    await expect.poll(() => r.events).toEqual([{ seq: 1, event: 'alert', data: { id: 1 } }])
    expect(fake.connections).toBe(0)
    expect(c.stats.transport).toBe('polling')
  })

  it('without WebSocket and without pollUrl the client reports it and closes', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ autoConnect: false })
    const r = record(c)
    c.connect()
    expect(c.status).toBe('closed')
    expect(r.errors.map((e) => e.code)).toEqual(['transport'])
  })

  it('long polling: the server holds the request and answers as soon as an event exists', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ pollUrl: POLL_URL, polling: { wait: 25_000, interval: 30_000 } })
    const r = record(c)
    // first poll: new session, answered at once; the second is held
    await expect.poll(() => fake.polls.length).toBe(2)
    expect(fake.polls[0]).toMatchObject({ session: null, wait: 25_000 })
    expect(fake.polls[1]).toMatchObject({ session: 's-1', after: 0, wait: 25_000 })
    fake.publish('alert', 'a')
    await expect.poll(() => r.seqs()).toEqual([1])
    // answered without waiting for `wait` or `interval`; the next long poll is out at once
    await expect.poll(() => fake.polls.length).toBe(3)
    expect(fake.polls[2]).toMatchObject({ session: 's-1', after: 1 })
    fake.publish('alert', 'b')
    fake.publish('alert', 'c')
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    // a held poll that times out answers empty and is asked again at once
    const before = fake.polls.length
    await vi.advanceTimersByTimeAsync(25_000)
    await expect.poll(() => fake.polls.length).toBe(before + 1)
    expect(r.errors).toEqual([])
  })

  it('honours 429 Retry-After between polls', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    vi.stubGlobal('WebSocket', undefined)
    fake.failPolls(429, { headers: { 'Retry-After': '3' } })
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 10_000 } })
    const r = record(c)
    await expect.poll(() => r.errors.length).toBe(1)
    expect(r.errors[0]).toMatchObject({ code: 'transport' })
    expect(r.errors[0]!.message).toContain('429')
    expect(fake.polls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(2_800)
    expect(fake.polls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(300)
    await expect.poll(() => fake.polls.length).toBe(2)
    expect(fake.polls[1]!.at - fake.polls[0]!.at).toBeGreaterThanOrEqual(3000)
    fake.publish('alert', 1)
    c.refresh() // polls now
    await expect.poll(() => r.seqs()).toEqual([1])
    expect(c.status).toBe('polling')
  })

  it('503 with an HTTP-date Retry-After is honoured too', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    vi.stubGlobal('WebSocket', undefined)
    fake.failPolls(503, { headers: { 'Retry-After': new Date(Date.now() + 5_000).toUTCString() } })
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 10_000 } })
    const r = record(c)
    await expect.poll(() => r.errors.length).toBe(1)
    await vi.advanceTimersByTimeAsync(3_500)
    expect(fake.polls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(2_000)
    await expect.poll(() => fake.polls.length).toBe(2)
    expect(c.status).toBe('polling')
  })

  it('a socket that never gets a welcome counts as a failed attempt; enough of them fall back to polling', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.withholdWelcome()
    const c = client({ pollUrl: POLL_URL, reconnect: { ...FAST.reconnect, maxAttempts: 2, connectTimeout: 2_000 } })
    const r = record(c)
    await expect.poll(() => fake.messages('hello')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_900)
    expect(fake.connections).toBe(1)
    await vi.advanceTimersByTimeAsync(200)
    await expect.poll(() => fake.connections).toBe(2)
    await vi.advanceTimersByTimeAsync(2_100)
    await expect.poll(() => c.status).toBe('polling')
    expect(r.statuses).toEqual(['connecting', 'reconnecting', 'polling'])
    expect(fake.openSockets).toBe(0)
  })

  it('three 401 polls in a row: status closed and exactly one unauthorized error', async () => {
    vi.stubGlobal('WebSocket', undefined)
    fake.failPolls(401, { times: 3 })
    const c = client({ pollUrl: POLL_URL, ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('closed')
    expect(r.errors.map((e) => e.code)).toEqual(['unauthorized'])
    expect(fake.polls).toHaveLength(3)
  })

  it('a POST for a session the server forgot makes the client start over with a GET, and resync', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ pollUrl: POLL_URL, ...FAST, polling: { interval: 60_000 } })
    const r = record(c)
    fake.publish('alert', 0) // no session yet: nobody gets it
    await expect.poll(() => fake.session?.id).toBe('s-1')
    fake.publish('alert', 1)
    c.refresh()
    await expect.poll(() => r.seqs()).toEqual([1])
    fake.forgetSessions()
    c.refresh()
    await expect.poll(() => fake.session?.id).toBe('s-2')
    await expect.poll(() => r.resyncs).toEqual([{ reason: 'new_session', from: 2, to: null, missed: null }])
    expect(fake.polls.at(-1)).toMatchObject({ session: 's-1', after: 1 })
    fake.publish('alert', 2)
    c.refresh()
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([1, 2])
    expect(r.resyncs).toHaveLength(1)
  })
})
