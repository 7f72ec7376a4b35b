import { describe, expect, it } from 'vitest'
import { FAST, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

async function openClient() {
  const c = client({ ...FAST })
  const r = record(c)
  await expect.poll(() => c.status).toBe('open')
  return { c, r }
}

describe('sequence continuity', () => {
  it('a gap asks for a replay and delivery stays in order', async () => {
    const { c, r } = await openClient()
    fake.publish('alert', 'a')
    fake.publish('alert', 'b', { deliver: false }) // lost on the way
    fake.publish('alert', 'c')
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    expect(r.events.map((e) => e.data)).toEqual(['a', 'b', 'c'])
    expect(fake.messages('replay')).toEqual([{ type: 'replay', after: 1 }])
    // the server replays everything after 1: seq 3 comes twice and is dropped the second time
    expect(c.stats).toMatchObject({ messages: 3, gaps: 1, replayed: 1, duplicates: 1, resyncs: 0 })
    expect(r.resyncs).toEqual([])
    expect(r.errors).toEqual([])
  })

  it('replay_failed gives exactly one resync with the exact range; later events still arrive', async () => {
    const { c, r } = await openClient()
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
    fake.publish('alert', 2, { deliver: false })
    fake.publish('alert', 3, { deliver: false })
    fake.truncateBuffer(0) // 2 and 3 are gone for good
    fake.publish('alert', 4)
    await expect.poll(() => r.seqs()).toEqual([1, 4])
    expect(fake.messages('replay')).toEqual([{ type: 'replay', after: 1 }])
    expect(r.resyncs).toEqual([{ reason: 'replay_failed', from: 2, to: 3, missed: 2 }])
    fake.publish('alert', 5)
    fake.publish('alert', 6)
    await expect.poll(() => r.seqs()).toEqual([1, 4, 5, 6])
    expect(r.resyncs).toHaveLength(1)
    expect(c.stats).toMatchObject({ messages: 4, resyncs: 1, gaps: 1 })
    expect(r.errors).toEqual([])
  })

  it('resumed:false for a known session (server restart) gives one resync "new_session"', async () => {
    const { c, r } = await openClient()
    fake.publish('alert', 'old-1')
    fake.publish('alert', 'old-2')
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    fake.forgetSessions()
    fake.dropConnection(1012, 'restart')
    await expect.poll(() => fake.session?.id).toBe('s-2')
    await expect.poll(() => c.status).toBe('open')
    expect(fake.messages('hello').at(-1)).toEqual({ type: 'hello', v: 1, session: 's-1', after: 2, events: [] })
    expect(r.resyncs).toEqual([{ reason: 'new_session', from: 3, to: null, missed: null }])
    fake.publish('alert', 'new-1')
    await expect.poll(() => r.events.map((e) => e.data)).toEqual(['old-1', 'old-2', 'new-1'])
    expect(r.seqs()).toEqual([1, 2, 1])
    expect(c.stats).toMatchObject({ resyncs: 1, reconnects: 1, messages: 3 })
    // a later drop resumes the new session without another resync
    fake.dropConnection(1006)
    fake.publish('alert', 'new-2', { deliver: false })
    await expect.poll(() => r.events.map((e) => e.data)).toEqual(['old-1', 'old-2', 'new-1', 'new-2'])
    expect(fake.messages('hello').at(-1)).toMatchObject({ session: 's-2', after: 1 })
    expect(r.resyncs).toHaveLength(1)
  })

  it('events the server sends again are dropped and counted', async () => {
    const { c, r } = await openClient()
    fake.publish('alert', 1)
    fake.publish('alert', 2)
    fake.publish('alert', 3)
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    fake.resend(1, 3)
    fake.resend(2)
    fake.publish('alert', 4)
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3, 4])
    expect(c.stats).toMatchObject({ messages: 4, duplicates: 4, gaps: 0, resyncs: 0 })
    expect(fake.messages('replay')).toEqual([])
  })
})
