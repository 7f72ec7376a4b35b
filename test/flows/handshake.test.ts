import { describe, expect, it, vi } from 'vitest'
import { FAST, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

describe('hello / welcome', () => {
  it('first connect sends a bare hello and goes idle → connecting → open', async () => {
    const c = client({ subscribe: ['alert', 'incident.*'], autoConnect: false })
    const r = record(c)
    expect(c.status).toBe('idle')
    c.connect()
    await expect.poll(() => c.status).toBe('open')
    expect(r.statuses).toEqual(['idle', 'connecting', 'open'])
    expect(fake.received).toEqual([{ type: 'hello', v: 1, session: null, after: null, events: ['alert', 'incident.*'] }])
    expect(fake.subscriptions).toEqual(['alert', 'incident.*'])
    expect(c.stats).toMatchObject({ reconnects: 0, transport: 'websocket' })
  })

  it('after a drop it resumes with session and last seq; the server replays; each event arrives once, in order', async () => {
    const c = client({ subscribe: ['alert'], ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', { n: 1 })
    fake.publish('alert', { n: 2 })
    await expect.poll(() => r.seqs()).toEqual([1, 2])

    fake.dropConnection(1006)
    // issued while the client is away: only the replay can bring them
    await expect.poll(() => c.status).toBe('reconnecting')
    fake.publish('alert', { n: 3 })
    fake.publish('alert', { n: 4 })
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3, 4])

    const hellos = fake.messages('hello')
    expect(hellos).toEqual([
      { type: 'hello', v: 1, session: null, after: null, events: ['alert'] },
      { type: 'hello', v: 1, session: 's-1', after: 2, events: ['alert'] },
    ])
    expect(fake.connections).toBe(2)
    expect(r.events.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }])
    expect(r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(r.resyncs).toEqual([])
    expect(r.errors).toEqual([])
    expect(c.stats).toMatchObject({ reconnects: 1, messages: 4, duplicates: 0, resyncs: 0 })

    // and it goes on after the resume
    fake.publish('alert', { n: 5 })
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3, 4, 5])
  })

  it('counts every reconnect', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST })
    const r = record(c)
    for (let i = 1; i <= 3; i++) {
      await expect.poll(() => c.status).toBe('open')
      fake.publish('x', i)
      await expect.poll(() => r.seqs().length).toBe(i)
      fake.dropConnection(1006)
      await expect.poll(() => c.status).toBe('reconnecting')
    }
    await expect.poll(() => c.status).toBe('open')
    expect(c.stats.reconnects).toBe(3)
    expect(fake.messages('hello').map((h) => h.after)).toEqual([null, 1, 2, 3])
    expect(r.seqs()).toEqual([1, 2, 3])
  })
})
