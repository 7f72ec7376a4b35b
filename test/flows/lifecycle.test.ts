import { describe, expect, it, vi } from 'vitest'
import { sharedConnectionCount } from '../../src/registry.js'
import { FAST, POLL_URL, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

describe('throttled listeners', () => {
  it('deliver the latest event at most once per interval, and nothing after off()', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST })
    const r = record(c)
    const calls: { data: unknown; seq: number; at: number }[] = []
    const off = c.on('alert', (data, meta) => calls.push({ data, seq: meta.seq, at: Date.now() }), { throttle: 1000 })
    await expect.poll(() => c.status).toBe('open')

    fake.publish('alert', 'a')
    fake.publish('alert', 'b')
    fake.publish('alert', 'c')
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    expect(calls).toEqual([])
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls.map((x) => [x.data, x.seq])).toEqual([['c', 3]])

    fake.publish('alert', 'd')
    await expect.poll(() => r.seqs()).toHaveLength(4)
    await vi.advanceTimersByTimeAsync(400)
    fake.publish('alert', 'e')
    await expect.poll(() => r.seqs()).toHaveLength(5)
    expect(calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(700)
    expect(calls.map((x) => x.data)).toEqual(['c', 'e'])
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1000)

    fake.publish('alert', 'f')
    await expect.poll(() => r.seqs()).toHaveLength(6)
    off()
    await vi.advanceTimersByTimeAsync(5000)
    expect(calls.map((x) => x.data)).toEqual(['c', 'e'])
    // an unthrottled listener saw everything
    expect(r.events.map((e) => e.data)).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
  })

  it('close() cancels a pending throttled call', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST })
    const r = record(c)
    const calls: unknown[] = []
    c.on('alert', (d) => calls.push(d), { throttle: 1000 })
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 'a')
    await expect.poll(() => r.seqs()).toEqual([1])
    c.close()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(2000)
    expect(calls).toEqual([])
  })
})

describe('close() and autoConnect', () => {
  it('close() of an open client: status closed, socket closed, no timer left', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST, heartbeat: { interval: 1000, timeout: 500 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    expect(vi.getTimerCount()).toBeGreaterThan(0) // heartbeat, stability timer
    c.close()
    expect(c.status).toBe('closed')
    expect(r.statuses).toEqual(['connecting', 'open', 'closed'])
    expect(vi.getTimerCount()).toBe(0)
    await expect.poll(() => fake.openSockets).toBe(0)
    expect(sharedConnectionCount()).toBe(0)
    // nothing more happens: no reconnect, no event, no ping
    fake.publish('alert', 1)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fake.connections).toBe(1)
    expect(fake.messages('ping')).toEqual([])
    expect(r.events).toEqual([])
    c.close() // twice is fine
    expect(r.statuses).toEqual(['connecting', 'open', 'closed'])
  })

  it('close() while connecting or waiting to reconnect leaves no timer', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.withholdWelcome()
    const a = client({ ...FAST })
    await expect.poll(() => fake.messages('hello')).toHaveLength(1)
    a.close()
    expect(vi.getTimerCount()).toBe(0)
    await expect.poll(() => fake.openSockets).toBe(0)

    fake.withholdWelcome(false)
    fake.refuseWebSocket(true)
    const b = client({ ...FAST, reconnect: { ...FAST.reconnect, minDelay: 5000 } })
    await expect.poll(() => b.status).toBe('reconnecting')
    b.close()
    expect(b.status).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    const seen = fake.connections
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fake.connections).toBe(seen)
  })

  it('close() while long polling aborts the request and leaves no timer', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ pollUrl: POLL_URL, polling: { wait: 20_000 } })
    await expect.poll(() => fake.polls.length).toBe(2) // the second one is held
    c.close()
    expect(c.status).toBe('closed')
    expect(vi.getTimerCount()).toBe(0) // the fake server's hold timer went with the aborted request
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fake.polls).toHaveLength(2)
  })

  it('autoConnect:false stays idle until connect(); connect() is idempotent', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST, autoConnect: false, subscribe: ['alert'] })
    const r = record(c)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(c.status).toBe('idle')
    expect(fake.connections).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    c.refresh() // nothing to refresh yet: no effect
    c.connect()
    c.connect()
    await expect.poll(() => c.status).toBe('open')
    c.connect()
    expect(fake.connections).toBe(1)
    expect(r.statuses).toEqual(['idle', 'connecting', 'open'])
    expect(fake.received).toEqual([{ type: 'hello', v: 1, session: null, after: null, events: ['alert'] }])
  })

  it('a closed handle can connect() again on a fresh connection', async () => {
    const c = client({ ...FAST, subscribe: ['alert'] })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    c.close()
    await expect.poll(() => fake.openSockets).toBe(0)
    c.connect()
    await expect.poll(() => c.status).toBe('open')
    expect(fake.connections).toBe(2)
    expect(fake.messages('hello').at(-1)).toEqual({ type: 'hello', v: 1, session: null, after: null, events: ['alert'] })
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
    expect(r.statuses).toEqual(['connecting', 'open', 'closed', 'connecting', 'open'])
  })
})
