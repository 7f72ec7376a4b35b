import { describe, expect, it } from 'vitest'
import type { StandardSchemaV1 } from '../../src/standard-schema.js'
import { setupFlows } from './harness.js'

const { fake, client } = setupFlows()

/** A Standard Schema that counts its validations and passes data through. */
function countingSchema(): StandardSchemaV1<unknown> & { runs: number } {
  const schema = {
    runs: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: (value: unknown) => {
        schema.runs++
        return { value }
      },
    },
  }
  return schema
}

describe('dispatch: an event reaches the listeners that want it, once each', () => {
  it('deduplicated handles get only the events they listen to; a handle with a named and a "*" listener validates once', async () => {
    const schema = countingSchema()
    const both = client({ events: { alert: schema } })
    const other = client()
    const got: string[] = []
    both.on('alert', (data, meta) => got.push(`named ${String(data)} ${meta.seq}`))
    both.on('*', (data, meta) => got.push(`any ${String(data)} ${meta.event}`))
    other.on('host', (data) => got.push(`other ${String(data)}`))
    await expect.poll(() => both.status).toBe('open')
    expect(fake.connections).toBe(1)

    fake.publish('alert', 'a1')
    fake.publish('host', 'h2')
    await expect.poll(() => got.length).toBe(4)
    // within a handle: named listeners, then "*"; across handles: those listening by name first
    expect(got).toEqual(['named a1 1', 'any a1 alert', 'other h2', 'any h2 host'])
    expect(schema.runs).toBe(1)
  })

  it('off() during a dispatch: the listener list being dispatched is not disturbed; later events skip it', async () => {
    const c = client()
    const got: string[] = []
    const offSecond = c.on('alert', (_d, meta) => got.push(`second ${meta.seq}`))
    c.on('alert', (_d, meta) => {
      got.push(`first ${meta.seq}`)
      offSecond()
    })
    // registered first, runs first: it removes itself within its own call
    const offSelf: () => void = c.on('tick', (_d, meta) => {
      got.push(`self ${meta.seq}`)
      offSelf()
    })
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    fake.publish('tick', 2)
    fake.publish('alert', 3)
    fake.publish('tick', 4)
    await expect.poll(() => c.stats.messages).toBe(4)
    expect(got).toEqual(['second 1', 'first 1', 'self 2', 'first 3'])
  })

  it('listeners added before connect() and kept across close()/connect() are routed on the new link', async () => {
    const c = client({ autoConnect: false })
    const got: number[] = []
    c.on('alert', (_d, meta) => got.push(meta.seq))
    c.connect()
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    await expect.poll(() => got).toEqual([1])
    c.close()
    await expect.poll(() => fake.openSockets).toBe(0)
    c.connect()
    await expect.poll(() => c.status).toBe('open')
    expect(fake.connections).toBe(2)
    fake.publish('alert', 2)
    await expect.poll(() => got.length).toBe(2)
  })

  it('a closed handle on a shared link gets nothing more, the others go on', async () => {
    const a = client()
    const b = client()
    const got: string[] = []
    a.on('alert', (_d, meta) => got.push(`a ${meta.seq}`))
    b.on('alert', (_d, meta) => got.push(`b ${meta.seq}`))
    await expect.poll(() => a.status).toBe('open')
    fake.publish('alert', 1)
    await expect.poll(() => got.length).toBe(2)
    a.close()
    fake.publish('alert', 2)
    await expect.poll(() => b.stats.messages).toBe(2)
    expect(got).toEqual(['a 1', 'b 1', 'b 2'])
  })
})
