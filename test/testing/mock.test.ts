/**
 * `wirefeed/testing` as an app team uses it: msw's `setupServer` (msw/node) with the mock's
 * handlers (set up in harness.ts), and a real `RealtimeClient` talking to it. No test runner
 * feature is needed by the mock itself; these tests use vitest only to assert.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { EventMessage } from '../../src/protocol/v1-schema.js'
import { createRealtimeMock, type EventFrame } from '../../src/testing/index.js'
import type { ClientOptions, EventMeta, Status } from '../../src/types.js'
import { FAST, useMock } from './harness.js'

const WS_URL = 'wss://api.example.test/ws/events'
const POLL_URL = 'https://api.example.test/api/events'

const { mock, clients } = useMock(WS_URL, POLL_URL)

function connect(o: Partial<ClientOptions> = {}) {
  const client = new RealtimeClient({ url: WS_URL, ...FAST, ...o })
  clients.push(client)
  const seen: { event: string; data: unknown; meta: EventMeta }[] = []
  const statuses: Status[] = [client.status]
  client.on('*', (data: unknown, meta: EventMeta) => seen.push({ event: meta.event, data, meta }))
  client.on('status', (s) => statuses.push(s))
  return { client, seen, statuses }
}

describe('createRealtimeMock', () => {
  it('accepts ({ url, pollUrl }) and (url, { pollUrl }), and rejects a missing url', () => {
    const a = createRealtimeMock({ url: WS_URL, pollUrl: POLL_URL })
    const b = createRealtimeMock(WS_URL, { pollUrl: POLL_URL, heartbeat: 5000, bufferSize: 10 })
    const wsOnly = createRealtimeMock(WS_URL)
    expect(a.handlers).toHaveLength(3) // WebSocket, poll GET, poll POST
    expect(b.handlers).toHaveLength(3)
    expect(b.heartbeat).toBe(5000)
    expect(wsOnly.handlers).toHaveLength(1)
    expect(() => createRealtimeMock({} as never)).toThrow(/`url` must be a string or a RegExp/)
    expect(() => createRealtimeMock(WS_URL, { bufferSize: 0 })).toThrow(/bufferSize/)
  })

  it('publishes to the connected client with seq, ts and ack, and records both directions', async () => {
    const { seen } = connect({ subscribe: ['alert'] })
    await mock.waitForSubscribed(['alert'])
    expect(mock.publish('alert', { id: '1', severity: 'high' }, { ts: 1767225600000 })).toEqual([1])
    expect(mock.publish('alert', { id: '2', severity: 'low' }, { ack: true })).toEqual([2])
    await mock.waitFor(() => seen.length === 2)

    expect(seen.map((e) => [e.meta.seq, e.event, e.data])).toEqual([
      [1, 'alert', { id: '1', severity: 'high' }],
      [2, 'alert', { id: '2', severity: 'low' }],
    ])
    expect(seen[0]?.meta.ts).toBe(1767225600000)
    // the client acknowledged the event that asked for it
    await mock.waitFor(() => mock.session?.acks.includes(2))

    expect(mock.received).toEqual([
      { type: 'hello', v: 1, session: null, after: null, events: ['alert'] },
      { type: 'ack', seq: 2 },
    ])
    expect(mock.messages('ack')).toEqual([{ type: 'ack', seq: 2 }])
    expect(mock.sentMessages).toEqual([
      { type: 'welcome', v: 1, session: 's-1', resumed: false, seq: 0 },
      { type: 'event', seq: 1, event: 'alert', data: { id: '1', severity: 'high' }, ts: 1767225600000 },
      { type: 'event', seq: 2, event: 'alert', data: { id: '2', severity: 'low' }, ack: true },
    ])
    expect(mock.connections).toBe(1)
    expect(mock.openSockets).toBe(1)
    expect(mock.urls).toEqual([WS_URL])
  })

  it('tracks subscriptions and says exactly how they differ', async () => {
    expect(() => mock.expectSubscribed([])).toThrow('no client has said hello or polled yet')
    const { client, seen } = connect({ subscribe: ['alert'] })
    await mock.waitForSubscribed(['alert'])
    expect(mock.subscriptions).toEqual(['alert'])

    const off = client.subscribe(['incident.*'])
    await mock.waitForSubscribed(['incident.*', 'alert']) // order does not matter
    expect(() => mock.expectSubscribed(['alert', 'host.**'])).toThrow(
      'expected the client to be subscribed to ["alert","host.**"], but it is subscribed to ["alert","incident.*"] (missing ["host.**"], unexpected ["incident.*"])',
    )

    // only subscribed sessions get an event (and a seq)
    expect(mock.publish('host.cpu', 0.5)).toEqual([])
    expect(mock.publish('incident.created', { id: 'i1' })).toEqual([1])
    await mock.waitFor(() => seen.length === 1)

    off()
    await mock.waitForSubscribed(['alert'])
    expect(mock.messages('subscribe')).toEqual([{ type: 'subscribe', events: ['incident.*'] }])
    expect(mock.messages('unsubscribe')).toEqual([{ type: 'unsubscribe', events: ['incident.*'] }])
    await expect(mock.waitForSubscribed(['nothing'], { timeout: 50 })).rejects.toThrow(
      /waitFor timed out after 50 ms: expected the client to be subscribed to \["nothing"\]/,
    )
  })

  it('dropConnection(): the client resumes its session and gets what it missed, in order', async () => {
    const { seen, statuses } = connect({ subscribe: ['alert'] })
    await mock.waitForSubscribed(['alert'])
    mock.publish('alert', 'a1')
    await mock.waitFor(() => seen.length === 1)

    mock.dropConnection()
    expect(mock.openSockets).toBe(0) // closed at once: nothing more goes out on it
    mock.publish('alert', 'a2') // no socket: buffered in the session
    mock.publish('alert', 'a3')
    await mock.waitFor(() => seen.length === 3)

    expect(seen.map((e) => [e.meta.seq, e.data])).toEqual([
      [1, 'a1'],
      [2, 'a2'],
      [3, 'a3'],
    ])
    expect(mock.messages('hello').at(-1)).toEqual({ type: 'hello', v: 1, session: 's-1', after: 1, events: ['alert'] })
    expect(mock.sentMessages.filter((m) => m.type === 'welcome').at(-1)).toMatchObject({ session: 's-1', resumed: true, seq: 3 })
    expect(mock.connections).toBe(2)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  it('forgetSessions(): a restarted server gives a new session, and the client reports one resync', async () => {
    const { client, seen } = connect({ subscribe: ['alert'] })
    const resyncs: string[] = []
    client.on('resync', (info) => resyncs.push(info.reason))
    await mock.waitForSubscribed(['alert'])
    mock.publish('alert', 'before')
    await mock.waitFor(() => seen.length === 1)

    mock.forgetSessions()
    mock.dropConnection(1001, 'restart')
    await mock.waitFor(() => mock.session?.id === 's-2' && client.status === 'open')
    mock.publish('alert', 'after')
    await mock.waitFor(() => seen.length === 2)

    expect(resyncs).toEqual(['new_session'])
    expect(seen.map((e) => [e.meta.seq, e.data])).toEqual([
      [1, 'before'],
      [1, 'after'], // seq starts again in the new session
    ])
    expect(mock.sentMessages.filter((m) => m.type === 'welcome').map((m) => [m.session, m.resumed])).toEqual([
      ['s-1', false],
      ['s-2', false],
    ])
  })

  it('goSilent(): the heartbeat notices the half-open link, and the client reconnects and catches up', async () => {
    const { client, seen } = connect({ subscribe: ['alert'], heartbeat: { interval: 50, timeout: 200 } })
    await mock.waitFor(() => client.status === 'open')
    await mock.waitFor(() => mock.messages('ping').length > 0 && mock.sentMessages.some((m) => m.type === 'pong'))

    mock.goSilent()
    mock.publish('alert', 'while silent') // swallowed by the silent socket
    expect(mock.sentMessages.filter((m) => m.type === 'event')).toEqual([])
    await mock.waitFor(() => mock.connections === 2, { timeout: 3000 })
    await mock.waitFor(() => seen.length === 1)

    expect(seen[0]).toMatchObject({ data: 'while silent', meta: { seq: 1 } })
    expect(mock.messages('hello').at(-1)).toMatchObject({ session: 's-1', after: 0 })
    expect(client.stats.reconnects).toBe(1)
  })

  it('refuseWebSocket(true): the client polls pollUrl, sends acks by POST, and moves back once allowed', async () => {
    mock.refuseWebSocket(true)
    const { client, seen } = connect({ subscribe: ['alert'], pollUrl: POLL_URL, polling: { interval: 20, upgradeInterval: 100 } })
    await mock.waitFor(() => client.status === 'polling')
    expect(mock.connections).toBeGreaterThanOrEqual(FAST.reconnect.maxAttempts)
    expect(mock.openSockets).toBe(0)
    await mock.waitForSubscribed(['alert'])

    mock.publish('alert', 'polled', { ack: true })
    await mock.waitFor(() => seen.length === 1)
    expect(seen[0]).toMatchObject({ data: 'polled', meta: { seq: 1 } })
    expect(mock.polls[0]).toMatchObject({ session: null, after: null, events: ['alert'], wait: 0 })
    await mock.waitFor(() => mock.posts.length > 0)
    expect(mock.posts[0]).toEqual({ session: 's-1', messages: [{ type: 'ack', seq: 1 }] })
    expect(mock.received).toContainEqual({ type: 'ack', seq: 1 })
    expect(mock.sentMessages).toContainEqual({ type: 'event', seq: 1, event: 'alert', data: 'polled', ack: true })

    mock.refuseWebSocket(false)
    await mock.waitFor(() => client.status === 'open', { timeout: 3000 })
    mock.publish('alert', 'live again')
    await mock.waitFor(() => seen.length === 2)
    expect(seen.map((e) => e.meta.seq)).toEqual([1, 2])
    expect(mock.messages('hello').at(-1)).toMatchObject({ session: 's-1', after: 1 })
  })

  it('refuseWebSocket({ code, on: "hello" }) reads hello, then closes with that code', async () => {
    mock.refuseWebSocket({ code: 4008, reason: 'busy', on: 'hello' })
    const { client, statuses } = connect({ subscribe: ['alert'], polling: false })
    // 4008 makes the client wait the top backoff step, then try again
    await mock.waitFor(() => mock.messages('hello').length >= 2 && mock.openSockets === 0)
    expect(statuses.slice(0, 2)).toEqual(['connecting', 'reconnecting'])
    expect(client.status).not.toBe('open')
    expect(mock.sentMessages).toEqual([])
    expect(mock.session).toBeUndefined()
  })

  it('waitFor resolves with the value found, and reset() rejects what is still waiting', async () => {
    connect({ subscribe: ['alert'] })
    const hello = await mock.waitFor(() => mock.messages('hello')[0])
    expect(hello).toMatchObject({ type: 'hello', events: ['alert'] })
    const pending = mock.waitFor(() => mock.messages('never')[0], { timeout: 5000 })
    mock.reset()
    await expect(pending).rejects.toThrow('waitFor cancelled: the realtime mock was reset')
    expect(mock.received).toEqual([])
    expect(mock.connections).toBe(0)
  })

  it('keeps the wire type of the v1 schemas for events', () => {
    expectTypeOf<EventFrame>().toEqualTypeOf<EventMessage>()
  })
})
