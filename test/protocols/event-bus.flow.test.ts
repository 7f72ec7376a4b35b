/**
 * The client on `eventBusProtocol` against a mocked bus of that exact shape: `{"type":"alert",...}`
 * events, `subscribe`/`unsubscribe` of exact names (none = every type), `ping`/`pong` with the id.
 */
import { describe, expect, it, vi } from 'vitest'
import * as z from 'zod'
import { eventBusProtocol } from '../../src/protocols/index.js'
import { FAST, mockServer, setupProtocolFlows, type Socket } from './msw-harness.js'
import { record } from './record.js'

const URL = 'wss://bus.test/ws'
const { server, client } = setupProtocolFlows()

/** The bus: answers pings with their id (while `answerPings`), keeps each socket's subscribed types (none = all), as the real one. */
function bus() {
  const controls = { answerPings: true }
  const mock = mockServer(URL, {
    onMessage(m, socket) {
      const { type, id } = m as { type: string; id: number }
      if (type === 'ping' && controls.answerPings) socket.send({ type: 'pong', id })
    },
  })
  server.use(mock.handler)
  /** What the bus does with the frames it got so far (the mock records them as they come). */
  const apply = (socket: Socket): Set<string> => {
    const set = new Set<string>()
    for (const m of socket.received as { type: string; events?: string[]; id?: number }[]) {
      if (m.type === 'subscribe') for (const e of m.events ?? []) set.add(e)
      if (m.type === 'unsubscribe') for (const e of m.events ?? []) set.delete(e)
    }
    return set
  }
  return {
    ...mock,
    controls,
    /** Publish as the bus does: to each open socket whose set is empty or holds the type. */
    publish(type: string, data: unknown, timestamp?: string) {
      for (const socket of mock.sockets) {
        const set = apply(socket)
        if (socket.open && (set.size === 0 || set.has(type))) socket.send({ type, data, ...(timestamp && { timestamp }) })
      }
    },
    subscribed: (socket: Socket) => [...apply(socket)],
  }
}

describe('eventBusProtocol against a bus', () => {
  it('sends the exact names it subscribes to, and each change as the bus expects it', async () => {
    const b = bus()
    const c = client({ url: URL, protocol: eventBusProtocol(), subscribe: ['alert', 'incident'] })
    await expect.poll(() => c.status).toBe('open')
    await expect.poll(() => b.last().received).toEqual([{ type: 'subscribe', events: ['alert', 'incident'] }])
    const off = c.subscribe('host')
    await expect.poll(() => b.last().received.at(-1)).toEqual({ type: 'subscribe', events: ['host'] })
    off()
    await expect.poll(() => b.last().received.at(-1)).toEqual({ type: 'unsubscribe', events: ['host'] })
    expect(b.subscribed(b.last())).toEqual(['alert', 'incident'])
    // a wildcard cannot be said to the bus: its set is emptied (every type comes) and the client filters
    const offAll = c.subscribe('*')
    await expect.poll(() => b.last().received.at(-1)).toEqual({ type: 'unsubscribe', events: ['alert', 'incident'] })
    expect(b.subscribed(b.last())).toEqual([])
    offAll()
    await expect.poll(() => b.last().received.at(-1)).toEqual({ type: 'subscribe', events: ['alert', 'incident'] })
    expect(b.last().received).toEqual([
      { type: 'subscribe', events: ['alert', 'incident'] },
      { type: 'subscribe', events: ['host'] },
      { type: 'unsubscribe', events: ['host'] },
      { type: 'unsubscribe', events: ['alert', 'incident'] },
      { type: 'subscribe', events: ['alert', 'incident'] },
    ])
    expect(b.sockets).toHaveLength(1)
  })

  it('delivers events with their data, validated by the schemas, and their timestamp; in arrival order, counted in meta.seq', async () => {
    const b = bus()
    const Alert = z.object({ id: z.string(), severity: z.enum(['low', 'high']) })
    const c = client({ url: URL, protocol: eventBusProtocol(), subscribe: ['alert', 'host'], events: { alert: Alert } })
    const r = record(c)
    const alerts: z.infer<typeof Alert>[] = []
    c.on('alert', (data) => alerts.push(data))
    await expect.poll(() => b.last().received).toHaveLength(1)
    b.publish('alert', { id: 'a1', severity: 'high' }, '2025-01-01T12:00:00.000Z')
    b.publish('host', { name: 'web-1', cpu: 0.92 })
    b.publish('alert', { id: 'a2', severity: 'urgent' })
    b.publish('alert', { id: 'a3', severity: 'low' })
    // the one that does not fit its schema is held back, with an error
    await expect.poll(() => r.events.map((e) => e.seq)).toEqual([1, 2, 4])
    expect(r.events).toEqual([
      { event: 'alert', data: { id: 'a1', severity: 'high' }, seq: 1, ts: Date.UTC(2025, 0, 1, 12) },
      { event: 'host', data: { name: 'web-1', cpu: 0.92 }, seq: 2, ts: undefined },
      { event: 'alert', data: { id: 'a3', severity: 'low' }, seq: 4, ts: undefined },
    ])
    expect(alerts).toEqual([{ id: 'a1', severity: 'high' }, { id: 'a3', severity: 'low' }])
    expect(r.errors.map((e) => e.code)).toEqual(['schema'])
    expect(c.stats).toMatchObject({ sequenced: false, messages: 4, duplicates: 0, gaps: 0 })
  })

  it('filters on the client what the bus sends beyond its patterns; with no pattern left, nothing is delivered', async () => {
    const b = bus()
    const c = client({ url: URL, protocol: eventBusProtocol() })
    const r = record(c)
    const off = c.subscribe('alert.*')
    await expect.poll(() => c.status).toBe('open')
    // a wildcard from the start: nothing is sent, and the bus sends every type
    b.publish('alert.disk', 0)
    await expect.poll(() => r.events).toHaveLength(1)
    expect(b.last().received).toEqual([])
    for (const type of ['incident', 'alert', 'host', 'alert.cpu', 'alert.cpu.core']) b.publish(type, type)
    await expect.poll(() => r.events.map((e) => e.event)).toEqual(['alert.disk', 'alert.cpu'])
    off()
    b.publish('alert.disk', 2)
    b.publish('host', 2)
    c.subscribe('incident')
    await expect.poll(() => b.last().received).toEqual([{ type: 'subscribe', events: ['incident'] }])
    b.publish('incident', 'last')
    await expect.poll(() => r.events.map((e) => e.event)).toEqual(['alert.disk', 'alert.cpu', 'incident'])
    expect(c.stats.messages).toBe(3)
    expect(r.errors).toEqual([])
  })

  it('numbers the events it delivers 1, 2, 3...: one it filtered out takes no number', async () => {
    const b = bus()
    const c = client({ url: URL, protocol: eventBusProtocol(), subscribe: ['alert.*'] })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    for (const type of ['alert.disk', 'incident', 'host', 'alert.cpu']) b.publish(type, type)
    await expect.poll(() => r.events.map((e) => e.event)).toEqual(['alert.disk', 'alert.cpu'])
    expect(r.events.map((e) => e.seq)).toEqual([1, 2])
    expect(c.stats.messages).toBe(2)
  })

  it('pings with an id and takes the pong as the round trip; a bus that stops answering is left', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const b = bus()
    const c = client({ url: URL, protocol: eventBusProtocol(), subscribe: ['*'], heartbeat: { interval: 1000, timeout: 500 }, ...FAST })
    await expect.poll(() => c.status).toBe('open')
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => b.last().received).toEqual([{ type: 'ping', id: 1 }])
    await expect.poll(() => c.stats.rtt).not.toBeNull()
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => b.last().received).toEqual([{ type: 'ping', id: 1 }, { type: 'ping', id: 2 }])
    expect(b.sockets).toHaveLength(1)
    b.controls.answerPings = false
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => b.sockets[0]?.received).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(400)
    expect(b.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(200)
    await expect.poll(() => b.sockets.length).toBe(2)
    expect(b.sockets[0]?.open).toBe(false)
  })

  it('a reconnect is a resync of unknown size; the subscriptions go to the new socket', async () => {
    const b = bus()
    const c = client({ url: URL, protocol: eventBusProtocol(), subscribe: ['alert'], ...FAST })
    const r = record(c)
    await expect.poll(() => b.last().received).toHaveLength(1)
    b.publish('alert', 1)
    await expect.poll(() => r.events).toHaveLength(1)
    b.last().close(1011, 'restarting')
    await expect.poll(() => b.sockets.length).toBe(2)
    await expect.poll(() => b.last().received).toEqual([{ type: 'subscribe', events: ['alert'] }])
    b.publish('alert', 2)
    await expect.poll(() => r.events.map((e) => [e.data, e.seq])).toEqual([
      [1, 1],
      [2, 2],
    ])
    expect(r.resyncs).toEqual([{ reason: 'new_session', from: 2, to: null, missed: null }])
    expect(r.statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(c.stats).toMatchObject({ sequenced: false, resyncs: 1, reconnects: 1 })
  })

  it('puts the token of auth in the URL, and reports a bad frame without losing the next', async () => {
    const b = bus()
    const c = client({ url: URL, protocol: eventBusProtocol(), subscribe: ['alert'], auth: { getToken: () => ({ token: 'tok 1' }) } })
    const r = record(c)
    await expect.poll(() => b.last().received).toHaveLength(1)
    expect(b.last().url).toBe('wss://bus.test/ws?token=tok+1')
    b.last().send('{"type":"alert"')
    b.last().send({ type: 'error', code: 'slow_consumer', message: '12 events skipped' })
    b.publish('alert', 'after')
    await expect.poll(() => r.events.map((e) => e.data)).toEqual(['after'])
    expect(r.errors.map((e) => [e.code, e.message, e.serverCode])).toEqual([
      ['invalid_message', 'frame is not valid JSON', undefined],
      ['server', '12 events skipped', 'slow_consumer'],
    ])
  })
})
