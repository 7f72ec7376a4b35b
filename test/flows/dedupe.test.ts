import { describe, expect, it } from 'vitest'
import { sharedConnectionCount } from '../../src/registry.js'
import { record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

const wire = () => fake.received.filter((m) => m.type === 'subscribe' || m.type === 'unsubscribe')

describe('deduplicated handles', () => {
  it('two handles on one url share one socket, and subscriptions are reference-counted', async () => {
    const a = client()
    const b = client()
    await expect.poll(() => a.status).toBe('open')
    expect(b.status).toBe('open')
    expect(fake.connections).toBe(1)
    expect(sharedConnectionCount()).toBe(1)

    const offA = a.subscribe(['alert'])
    const offB = b.subscribe(['alert'])
    await expect.poll(() => wire()).toEqual([{ type: 'subscribe', events: ['alert'] }])
    expect(fake.subscriptions).toEqual(['alert'])

    // both handles get each event
    const ra = record(a)
    const rb = record(b)
    fake.publish('alert', 1)
    await expect.poll(() => [ra.seqs(), rb.seqs()]).toEqual([[1], [1]])

    offA()
    offA() // undoing twice undoes nothing more
    await Promise.resolve()
    fake.publish('alert', 2) // a round trip: anything sent before it has reached the server
    await expect.poll(() => rb.seqs()).toEqual([1, 2])
    expect(wire()).toEqual([{ type: 'subscribe', events: ['alert'] }])

    offB()
    await expect.poll(() => wire()).toEqual([
      { type: 'subscribe', events: ['alert'] },
      { type: 'unsubscribe', events: ['alert'] },
    ])
    expect(fake.subscriptions).toEqual([])

    // the socket stays while one handle holds it, and closes with the last
    a.close()
    expect(a.status).toBe('closed')
    expect(b.status).toBe('open')
    expect(fake.openSockets).toBe(1)
    b.close()
    await expect.poll(() => fake.openSockets).toBe(0)
    expect(sharedConnectionCount()).toBe(0)
    expect(fake.connections).toBe(1)
  })

  it('closing one handle releases only its own subscriptions', async () => {
    const a = client({ subscribe: ['alert', 'host'] })
    const b = client({ subscribe: ['alert'] })
    await expect.poll(() => a.status).toBe('open')
    await expect.poll(() => fake.subscriptions.sort()).toEqual(['alert', 'host'])
    a.close()
    await expect.poll(() => wire()).toEqual([{ type: 'unsubscribe', events: ['host'] }])
    expect(fake.subscriptions).toEqual(['alert'])
    expect(b.status).toBe('open')
  })

  it('subscribe() undo functions undo exactly their own call', async () => {
    const c = client()
    await expect.poll(() => c.status).toBe('open')
    const first = c.subscribe(['alert', 'host'])
    const second = c.subscribe(['alert'])
    await expect.poll(() => wire()).toEqual([{ type: 'subscribe', events: ['alert', 'host'] }])
    second()
    second()
    // "alert" is still held by the first call; nothing goes out
    fake.publish('alert', 1)
    await expect.poll(() => c.stats.messages).toBe(1)
    expect(wire()).toEqual([{ type: 'subscribe', events: ['alert', 'host'] }])
    first()
    await expect.poll(() => wire()).toEqual([
      { type: 'subscribe', events: ['alert', 'host'] },
      { type: 'unsubscribe', events: ['alert', 'host'] },
    ])
    const third = c.subscribe(['alert'])
    await expect.poll(() => wire()).toHaveLength(3)
    expect(wire()[2]).toEqual({ type: 'subscribe', events: ['alert'] })
    third()
    await expect.poll(() => wire()).toHaveLength(4)
    expect(wire()[3]).toEqual({ type: 'unsubscribe', events: ['alert'] })
  })

  it('dedupe:false gives a second socket', async () => {
    const a = client()
    const b = client({ dedupe: false })
    await expect.poll(() => [a.status, b.status]).toEqual(['open', 'open'])
    expect(fake.connections).toBe(2)
    expect(fake.openSockets).toBe(2)
    b.close()
    await expect.poll(() => fake.openSockets).toBe(1)
    expect(a.status).toBe('open')
  })

  it('a different dedupeKey gives a second socket; the same key shares', async () => {
    const a = client({ dedupeKey: 'one' })
    const b = client({ dedupeKey: 'two' })
    const c = client({ dedupeKey: 'two' })
    await expect.poll(() => [a.status, b.status, c.status]).toEqual(['open', 'open', 'open'])
    expect(fake.connections).toBe(2)
    expect(sharedConnectionCount()).toBe(2)
  })

  it('a handle that connects after the shared socket closed opens a fresh one', async () => {
    const a = client()
    await expect.poll(() => a.status).toBe('open')
    a.close()
    await expect.poll(() => fake.openSockets).toBe(0)
    const b = client()
    await expect.poll(() => b.status).toBe('open')
    expect(fake.connections).toBe(2)
    expect(fake.messages('hello').at(-1)).toMatchObject({ session: null, after: null })
  })
})
