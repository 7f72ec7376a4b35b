import { describe, expect, it, vi } from 'vitest'
import type { WebSocketConstructor } from '../../src/types.js'
import { FAST, POLL_URL, record, setupFlows } from './harness.js'

const { fake, client } = setupFlows()

/** The (msw-patched) global WebSocket, with every frame the client sends logged as it is sent. */
function loggingWebSocket(log: unknown[]): WebSocketConstructor {
  const Base = globalThis.WebSocket
  function Logged(url: string | URL, protocols?: string | string[]): WebSocket {
    const socket = new Base(url, protocols)
    const send = socket.send.bind(socket)
    socket.send = (data) => {
      log.push(JSON.parse(String(data)))
      send(data)
    }
    return socket
  }
  return Object.assign(Logged, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 }) as unknown as WebSocketConstructor
}

describe('acks and refresh over WebSocket', () => {
  it('an event with ack:true is acknowledged once, after its listeners ran', async () => {
    const log: unknown[] = []
    const c = client({ ...FAST, WebSocket: loggingWebSocket(log) })
    const r = record(c)
    c.on('alert', (_d, meta) => log.push({ listener: meta.seq }))
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 'a', { ack: true })
    fake.publish('alert', 'b')
    fake.publish('alert', 'c', { ack: false })
    fake.publish('alert', 'd', { ack: true })
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3, 4])
    await expect.poll(() => fake.messages('ack')).toEqual([
      { type: 'ack', seq: 1 },
      { type: 'ack', seq: 4 },
    ])
    expect(log.filter((m) => (m as { type?: string }).type !== 'hello')).toEqual([
      { listener: 1 },
      { type: 'ack', seq: 1 },
      { listener: 2 },
      { listener: 3 },
      { listener: 4 },
      { type: 'ack', seq: 4 },
    ])
    expect(fake.session?.acks).toEqual([1, 4])
  })

  it('a replayed event that asks for an ack is acknowledged once too', async () => {
    const c = client({ ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    fake.publish('alert', 2, { ack: true, deliver: false })
    fake.publish('alert', 3)
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    fake.publish('alert', 4) // a round trip
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3, 4])
    expect(fake.messages('ack')).toEqual([{ type: 'ack', seq: 2 }])
  })

  it('refresh() sends {type:"refresh"}', async () => {
    const c = client({ ...FAST })
    await expect.poll(() => c.status).toBe('open')
    c.refresh()
    await expect.poll(() => fake.messages('refresh')).toEqual([{ type: 'refresh' }])
  })

  it('refresh() before the socket is open is sent once it is', async () => {
    const c = client({ ...FAST })
    expect(c.status).toBe('connecting')
    c.refresh()
    await expect.poll(() => fake.messages('refresh')).toEqual([{ type: 'refresh' }])
    expect(fake.received.map((m) => m.type)).toEqual(['hello', 'refresh'])
  })
})

describe('acks, refresh and subscriptions while polling', () => {
  it('go out as POSTs to pollUrl with the session', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ ...FAST, pollUrl: POLL_URL, polling: { interval: 60_000 } })
    const r = record(c)
    await expect.poll(() => fake.session?.id).toBe('s-1')
    await expect.poll(() => c.stats.transport).toBe('polling')

    // refresh: one POST, and a poll at once
    const polls = fake.polls.length
    c.refresh()
    await expect.poll(() => fake.posts).toEqual([{ session: 's-1', messages: [{ type: 'refresh' }] }])
    await expect.poll(() => fake.polls.length).toBe(polls + 1)

    // an event that asks for an ack
    fake.publish('alert', 'x', { ack: true })
    c.refresh()
    await expect.poll(() => r.seqs()).toEqual([1])
    await expect.poll(() => fake.messages('ack')).toEqual([{ type: 'ack', seq: 1 }])
    expect(fake.session?.acks).toEqual([1])

    // subscriptions
    const off = c.subscribe(['host.*'])
    await expect.poll(() => fake.messages('subscribe')).toEqual([{ type: 'subscribe', events: ['host.*'] }])
    expect(fake.subscriptions).toEqual(['host.*'])
    off()
    await expect.poll(() => fake.messages('unsubscribe')).toEqual([{ type: 'unsubscribe', events: ['host.*'] }])
    expect(fake.subscriptions).toEqual([])
    expect(fake.posts.every((p) => p.session === 's-1')).toBe(true)
    expect(fake.connections).toBe(0)
    expect(r.errors).toEqual([])
  })
})
