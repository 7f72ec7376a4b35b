import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { FAST, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

const MAX = 1000

async function openClient() {
  const c = client({ ...FAST, maxMessageBytes: MAX, events: { alert: z.object({ id: z.string() }) } })
  const r = record(c)
  await expect.poll(() => c.status).toBe('open')
  return { c, r }
}

describe('bad frames', () => {
  it.each([
    ['not JSON', 'not json {'],
    ['a JSON array', '[{"type":"event"}]'],
    ['a JSON string', '"event"'],
    ['JSON null', 'null'],
    ['an object without type', '{"seq":1,"event":"alert","data":{}}'],
    ['a non-string type', '{"type":7}'],
    ['an oversized frame', JSON.stringify({ type: 'notice', text: 'x'.repeat(MAX) })],
    ['an oversized frame in multi-byte characters', JSON.stringify({ type: 'notice', text: '€'.repeat(MAX / 3) })],
    ['an event with a string seq', '{"type":"event","seq":"1","event":"alert","data":{"id":"1"}}'],
    ['an event with a negative seq', '{"type":"event","seq":-1,"event":"alert","data":{"id":"1"}}'],
    ['an event without a name', '{"type":"event","seq":1,"data":{"id":"1"}}'],
    ['an event with a string ack', '{"type":"event","seq":1,"event":"alert","ack":"yes"}'],
    ['a welcome with a numeric session', '{"type":"welcome","session":1,"resumed":true,"seq":0}'],
    ['a replay_failed without seq', '{"type":"replay_failed","after":1}'],
    ['a ping with an object id', '{"type":"ping","id":{}}'],
    ['an error without message', '{"type":"error","code":"x"}'],
  ])('%s: exactly one invalid_message error, and the next event is delivered', async (_name, frame) => {
    const { c, r } = await openClient()
    fake.send(frame)
    fake.publish('alert', { id: 'next' })
    await expect.poll(() => r.events).toEqual([{ seq: 1, event: 'alert', data: { id: 'next' } }])
    expect(r.errors.map((e) => e.code)).toEqual(['invalid_message'])
    expect(r.resyncs).toEqual([])
    expect(c.status).toBe('open')
    expect(fake.messages('pong')).toEqual([])
  })

  it('a frame just under maxMessageBytes is accepted', async () => {
    const { r } = await openClient()
    const id = 'y'.repeat(MAX - 80)
    fake.publish('alert', { id })
    await expect.poll(() => r.seqs()).toEqual([1])
    expect(r.errors).toEqual([])
  })

  it('a binary frame: one invalid_message error, and the next event is delivered', async () => {
    const { r } = await openClient()
    fake.send(new TextEncoder().encode('{"type":"event","seq":1,"event":"alert","data":{"id":"1"}}'))
    fake.publish('alert', { id: 'next' })
    await expect.poll(() => r.seqs()).toEqual([1])
    expect(r.errors.map((e) => e.code)).toEqual(['invalid_message'])
    expect(r.errors[0]!.message).toMatch(/binary/)
  })

  it('an event that fails its schema: one schema error naming it, and the next event is delivered', async () => {
    const { c, r } = await openClient()
    const seen: unknown[] = []
    c.on('alert', (data) => seen.push(data))
    fake.publish('alert', { id: 5 })
    fake.publish('alert', { id: '6' })
    await expect.poll(() => seen).toEqual([{ id: '6' }])
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ code: 'schema', event: 'alert', seq: 1 })
    // the invalid event reached no listener at all, not even `*`
    expect(r.seqs()).toEqual([2])
  })

  it('a __proto__ key in a payload is removed and reported once; nothing is polluted', async () => {
    const { r } = await openClient()
    const hostile = JSON.parse('{"id":"1","__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}') as object
    expect(Object.hasOwn(hostile, '__proto__')).toBe(true) // the server really sends the key
    fake.publish('raw', hostile)
    fake.publish('raw', { id: '2' })
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    const data = r.events[0]!.data as Record<string, unknown>
    expect(Object.hasOwn(data, '__proto__')).toBe(false)
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
    expect(data.polluted).toBeUndefined()
    expect(Object.hasOwn(data.nested as object, '__proto__')).toBe(false)
    expect(Object.getPrototypeOf(data.nested)).toBe(Object.prototype)
    expect(data).toEqual({ id: '1', nested: {} })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(r.errors.map((e) => e.code)).toEqual(['invalid_message'])
    expect(r.events[1]!.data).toEqual({ id: '2' })
  })

  it('unknown message types and unknown fields are ignored silently', async () => {
    const { r } = await openClient()
    fake.send({ type: 'notice', text: 'hello' })
    fake.send({ type: 'presence', users: [] })
    fake.send({ type: 'event', seq: 1, event: 'alert', data: { id: '1' }, extra: true, v: 2 })
    await expect.poll(() => r.events).toEqual([{ seq: 1, event: 'alert', data: { id: '1' } }])
    expect(r.errors).toEqual([])
  })

  it('a server error message becomes one server error with its code; the socket stays', async () => {
    const { c, r } = await openClient()
    fake.send({ type: 'error', code: 'bad_request', message: 'unknown pattern' })
    fake.publish('alert', { id: '1' })
    await expect.poll(() => r.seqs()).toEqual([1])
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ code: 'server', serverCode: 'bad_request', message: 'unknown pattern' })
    expect(c.status).toBe('open')
  })

  it('a throwing listener becomes a listener error; other listeners and later events still run', async () => {
    const { c, r } = await openClient()
    const boom = new Error('boom')
    const before: string[] = []
    const after: string[] = []
    c.on('alert', (d) => before.push(d.id))
    c.on('alert', (d) => {
      if (d.id === '1') throw boom
    })
    c.on('alert', (d) => after.push(d.id))
    fake.publish('alert', { id: '1' })
    fake.publish('alert', { id: '2' })
    await expect.poll(() => after).toEqual(['1', '2'])
    expect(before).toEqual(['1', '2'])
    expect(r.seqs()).toEqual([1, 2])
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0]).toMatchObject({ code: 'listener' })
    expect(r.errors[0]!.cause).toBe(boom)
  })

  it('a throwing error listener does not loop', async () => {
    const { c, r } = await openClient()
    c.on('error', () => {
      throw new Error('error handler broke')
    })
    fake.send('nope')
    fake.publish('alert', { id: '1' })
    await expect.poll(() => r.seqs()).toEqual([1])
    expect(r.errors.map((e) => e.code)).toEqual(['invalid_message'])
  })
})
