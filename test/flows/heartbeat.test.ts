import { describe, expect, it, vi } from 'vitest'
import { FAST, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

describe('heartbeat', () => {
  it('pings at the server heartbeat when it is smaller than the client interval; pong sets rtt', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.heartbeat = 5_000
    const c = client({ heartbeat: { interval: 30_000, timeout: 10_000 } })
    await expect.poll(() => c.status).toBe('open')
    expect(c.stats.rtt).toBeNull()
    await vi.advanceTimersByTimeAsync(4_500)
    expect(fake.messages('ping')).toEqual([])
    await vi.advanceTimersByTimeAsync(600)
    await expect.poll(() => fake.messages('ping')).toEqual([{ type: 'ping', id: 1 }])
    await expect.poll(() => c.stats.rtt).not.toBeNull()
    expect(c.stats.rtt).toBeGreaterThanOrEqual(0)
    await vi.advanceTimersByTimeAsync(5_000)
    await expect.poll(() => fake.messages('ping')).toEqual([
      { type: 'ping', id: 1 },
      { type: 'ping', id: 2 },
    ])
    expect(c.status).toBe('open')
  })

  it('pings at its own interval when that is smaller than the server heartbeat', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.heartbeat = 60_000
    const c = client({ heartbeat: { interval: 2_000, timeout: 1_000 } })
    await expect.poll(() => c.status).toBe('open')
    await vi.advanceTimersByTimeAsync(1_800)
    expect(fake.messages('ping')).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(300)
    await expect.poll(() => fake.messages('ping')).toHaveLength(1)
  })

  it('a silent server is given up after heartbeat.timeout and the client reconnects', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST, heartbeat: { interval: 3_000, timeout: 2_000 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
    fake.goSilent()
    fake.publish('alert', 2) // swallowed by the half-open link
    await vi.advanceTimersByTimeAsync(3_100) // the ping goes out, nothing comes back
    await expect.poll(() => fake.messages('ping')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_700)
    expect(c.status).toBe('open')
    expect(fake.connections).toBe(1)
    await vi.advanceTimersByTimeAsync(400)
    await expect.poll(() => fake.connections).toBe(2)
    await expect.poll(() => c.status).toBe('open')
    // the new socket resumes the session: nothing lost
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    expect(fake.messages('hello').at(-1)).toMatchObject({ session: 's-1', after: 1 })
    expect(r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(c.stats.reconnects).toBe(1)
    expect(r.errors).toEqual([])
  })

  it('any frame counts as a sign of life, not only a pong', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST, heartbeat: { interval: 1_000, timeout: 500 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.answerPings(false)
    for (let i = 1; i <= 6; i++) {
      await vi.advanceTimersByTimeAsync(400)
      fake.publish('tick', i)
      await expect.poll(() => r.seqs()).toHaveLength(i)
    }
    expect(fake.messages('ping').length).toBeGreaterThanOrEqual(2)
    expect(fake.connections).toBe(1)
    // no events and no pongs: the link is given up
    await vi.advanceTimersByTimeAsync(1_600)
    await expect.poll(() => fake.connections).toBe(2)
  })

  it('server pings are answered with a pong of the same id', async () => {
    const c = client({ ...FAST })
    await expect.poll(() => c.status).toBe('open')
    fake.ping(7)
    fake.ping('abc')
    await expect.poll(() => fake.messages('pong')).toEqual([
      { type: 'pong', id: 7 },
      { type: 'pong', id: 'abc' },
    ])
  })
})
