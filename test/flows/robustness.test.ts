/**
 * Edge cases of the handle and the connection: what a misbehaving environment, server or app
 * does to the client, and that each one surfaces as an `error` event without losing later events.
 */
import { HttpResponse, http } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import type { WebSocketConstructor } from '../../src/types.js'
import { FAST, POLL_URL, WS_URL, record, setupFlows } from './harness.js'

const { fake, server, client } = setupFlows()

describe('a failing environment', () => {
  it('a WebSocket constructor that throws is one transport error per attempt, and the client retries', async () => {
    let throws = 2
    const Base = globalThis.WebSocket
    function Flaky(url: string | URL, protocols?: string | string[]): WebSocket {
      if (throws-- > 0) throw new SyntaxError('The URL is invalid')
      return new Base(url, protocols)
    }
    const c = client({ ...FAST, WebSocket: Object.assign(Flaky, { CLOSING: 2 }) as unknown as WebSocketConstructor })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    expect(r.errors.map((e) => [e.code, e.message, (e.cause as Error).name])).toEqual([
      ['transport', 'could not open a WebSocket', 'SyntaxError'],
      ['transport', 'could not open a WebSocket', 'SyntaxError'],
    ])
    expect(r.statuses).toEqual(['connecting', 'reconnecting', 'open'])
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
  })

  it('a url function that returns no string is a transport error, then the next attempt is made', async () => {
    const urls: unknown[] = [undefined, 42, WS_URL]
    const c = client({ ...FAST, url: (() => urls.shift()) as () => string })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    expect(r.errors.map((e) => [e.code, e.message, String((e.cause as Error).message)])).toEqual([
      ['transport', 'the url function failed', 'expected a string, got undefined'],
      ['transport', 'the url function failed', 'expected a string, got number'],
    ])
    expect(fake.connections).toBe(1)
  })
})

describe('a misbehaving server', () => {
  it('an event before welcome is dropped with an error; the events after welcome are delivered', async () => {
    fake.withholdWelcome()
    const c = client({ ...FAST })
    const r = record(c)
    await expect.poll(() => fake.messages('hello').length).toBe(1)
    fake.send({ type: 'event', seq: 1, event: 'alert', data: 'early' })
    await expect.poll(() => r.errors.map((e) => [e.code, e.message])).toEqual([['invalid_message', 'event seq 1 arrived before welcome; dropped']])
    fake.send({ type: 'welcome', v: 1, session: 's-x', resumed: false, seq: 0 })
    fake.send({ type: 'event', seq: 1, event: 'alert', data: 'on time' })
    await expect.poll(() => r.events).toEqual([{ seq: 1, event: 'alert', data: 'on time' }])
    expect(c.status).toBe('open')
  })

  it('a resent event that asks for an ack is acknowledged again (the first ack may have been lost)', async () => {
    const c = client({ ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 'a', { ack: true })
    await expect.poll(() => fake.messages('ack')).toEqual([{ type: 'ack', seq: 1 }])
    fake.resend(1)
    await expect.poll(() => fake.messages('ack')).toEqual([
      { type: 'ack', seq: 1 },
      { type: 'ack', seq: 1 },
    ])
    expect(r.seqs()).toEqual([1])
    expect(c.stats.duplicates).toBe(1)
  })

  it('a poll answer that starts a new session with events delivers those events', async () => {
    vi.stubGlobal('WebSocket', undefined)
    server.use(
      http.get(
        POLL_URL,
        () =>
          HttpResponse.json({
            session: 's-9',
            resumed: false,
            seq: 3,
            events: [1, 2, 3].map((seq) => ({ type: 'event', seq, event: 'alert', data: seq })),
          }),
        { once: true },
      ),
    )
    const c = client({ ...FAST, pollUrl: POLL_URL, polling: { interval: 60_000 } })
    const r = record(c)
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    expect(r.resyncs).toEqual([])
  })
})

describe('close codes as the client reports them', () => {
  it('a server close is logged with its own code, a dropped socket as 1006', async () => {
    const lines: string[] = []
    const c = client({ ...FAST, logger: { debug: (line: string) => lines.push(line) } })
    await expect.poll(() => c.status).toBe('open')
    fake.dropConnection(4002, 'rebalancing')
    await expect.poll(() => lines.filter((l) => l.includes('socket closed'))).toEqual(['[wirefeed] socket closed (4002 rebalancing)'])
    await expect.poll(() => c.status).toBe('open')
    fake.refuseWebSocket(true)
    fake.dropConnection()
    await expect.poll(() => lines.filter((l) => l.includes('socket closed')).length).toBeGreaterThanOrEqual(3)
    expect(lines.filter((l) => l.includes('socket closed')).slice(1, 3)).toEqual([
      '[wirefeed] socket closed (1006)',
      '[wirefeed] socket closed (1006)',
    ])
  })
})

describe('polling, a lost range', () => {
  it('a poll answer for the same session that is not resumed reports exactly what was lost, as replay_failed', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const c = client({ ...FAST, pollUrl: POLL_URL, polling: { interval: 60_000 } })
    const r = record(c)
    await expect.poll(() => fake.session?.id).toBe('s-1')
    fake.publish('alert', 1)
    c.refresh()
    await expect.poll(() => r.seqs()).toEqual([1])
    // the server's buffer lost 2..5; its answer starts again in the same session at 6
    server.use(
      http.get(
        POLL_URL,
        () => HttpResponse.json({ session: 's-1', resumed: false, seq: 6, events: [{ type: 'event', seq: 6, event: 'alert', data: 6 }] }),
        { once: true },
      ),
    )
    c.refresh()
    await expect.poll(() => r.seqs()).toEqual([1, 6])
    expect(r.resyncs).toEqual([{ reason: 'replay_failed', from: 2, to: 5, missed: 4 }])
  })
})

describe('subscriptions and the handshake', () => {
  it('patterns changed between hello and welcome are reconciled once welcome arrives', async () => {
    fake.withholdWelcome()
    const c = client({ ...FAST, subscribe: ['alert', 'host.*'] })
    await expect.poll(() => fake.messages('hello')).toEqual([{ type: 'hello', v: 1, session: null, after: null, events: ['alert', 'host.*'] }])
    const offHost = c.subscribe(['incident.*'])
    c.subscribe(['jobs.**'])
    offHost()
    expect(fake.messages('subscribe')).toEqual([])
    fake.send({ type: 'welcome', v: 1, session: 's-x', resumed: false, seq: 0 })
    await expect.poll(() => fake.messages('subscribe')).toEqual([{ type: 'subscribe', events: ['jobs.**'] }])
    expect(fake.messages('unsubscribe')).toEqual([])
  })

  it('a pattern removed between hello and welcome is unsubscribed at welcome', async () => {
    fake.withholdWelcome()
    const c = client({ ...FAST })
    const off = c.subscribe(['alert'])
    await expect.poll(() => fake.messages('hello').at(0)?.events).toEqual(['alert'])
    off()
    fake.send({ type: 'welcome', v: 1, session: 's-x', resumed: false, seq: 0 })
    await expect.poll(() => fake.messages('unsubscribe')).toEqual([{ type: 'unsubscribe', events: ['alert'] }])
    expect(fake.messages('subscribe')).toEqual([])
  })

  it('subscribe() called from plain JS with a string subscribes that one pattern', async () => {
    const c = client({ ...FAST })
    await expect.poll(() => c.status).toBe('open')
    ;(c.subscribe as (p: unknown) => () => void)('alert')
    await expect.poll(() => fake.messages('subscribe')).toEqual([{ type: 'subscribe', events: ['alert'] }])
  })

  it('subscribe() with something that is no pattern at all reports it and throws nothing', async () => {
    const c = client({ ...FAST, autoConnect: false })
    const r = record(c)
    expect(() => (c.subscribe as (p: unknown) => () => void)(5)).not.toThrow()
    expect(r.errors.map((e) => [e.code, e.message])).toEqual([['config', 'invalid subscription pattern "5"']])
  })

  it('the last handle to close sends no unsubscribe: the socket closes anyway', async () => {
    const c = client({ ...FAST, subscribe: ['alert'] })
    await expect.poll(() => c.status).toBe('open')
    c.close()
    await expect.poll(() => fake.openSockets).toBe(0)
    expect(fake.messages('unsubscribe')).toEqual([])
  })
})

describe('the handle', () => {
  it('a schema whose validate throws is a schema error; other handles and later events go on', async () => {
    const throwing = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (v: unknown) => {
          if (v === 'bad') throw new Error('validator crashed')
          return { value: v }
        },
      },
    }
    const c = client({ ...FAST, events: { alert: throwing } })
    const r = record(c)
    const seen: unknown[] = []
    c.on('alert', (d) => seen.push(d))
    const other = client({ ...FAST })
    const o = record(other)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 'bad', { ack: true })
    fake.publish('alert', 'good')
    await expect.poll(() => seen).toEqual(['good'])
    expect(r.errors.map((e) => [e.code, e.message, e.event, e.seq, (e.cause as Error).message])).toEqual([
      ['schema', 'the schema for "alert" threw while validating seq 1', 'alert', 1, 'validator crashed'],
    ])
    expect(o.seqs()).toEqual([1, 2])
    await expect.poll(() => fake.messages('ack')).toEqual([{ type: 'ack', seq: 1 }])
  })

  it('close() of a handle that never connected leaves it closed', () => {
    const c = client({ ...FAST, autoConnect: false })
    const r = record(c)
    c.close()
    expect(c.status).toBe('closed')
    expect(r.statuses).toEqual(['idle', 'closed'])
  })

  it('a throttled listener that throws becomes a listener error; later deliveries go on', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const c = client({ ...FAST })
    const r = record(c)
    const seen: unknown[] = []
    c.on(
      'alert',
      (data) => {
        seen.push(data)
        if (data === 1) throw new Error('boom')
      },
      { throttle: 1000 },
    )
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    await expect.poll(() => r.seqs()).toEqual([1])
    await vi.advanceTimersByTimeAsync(1000)
    expect(r.errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['listener', 'boom']])
    fake.publish('alert', 2)
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    await vi.advanceTimersByTimeAsync(1000)
    expect(seen).toEqual([1, 2])
  })

  it('stats.transport is null while the link is down', async () => {
    const c = client({ ...FAST, reconnect: { ...FAST.reconnect, minDelay: 500, maxDelay: 500 } })
    await expect.poll(() => c.stats.transport).toBe('websocket')
    fake.dropConnection(1001)
    await expect.poll(() => c.status).toBe('reconnecting')
    expect(c.stats.transport).toBe(null)
    await expect.poll(() => c.stats.transport).toBe('websocket')
  })
})

describe('moving back from polling to WebSocket', () => {
  it('an ack whose POST failed is sent over the new socket', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    fake.refuseWebSocket(true)
    server.use(http.post(POLL_URL, () => new HttpResponse(null, { status: 503 })))
    const c = client({ ...FAST, pollUrl: POLL_URL, polling: { interval: 100, upgradeInterval: 2_000 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('polling')
    await expect.poll(() => fake.session?.id).toBe('s-1')
    fake.publish('alert', 'x', { ack: true })
    await expect.poll(() => r.seqs()).toEqual([1])
    fake.refuseWebSocket(false)
    await vi.advanceTimersByTimeAsync(2_000)
    await expect.poll(() => c.status).toBe('open')
    await expect.poll(() => fake.session?.acks).toEqual([1])
    expect(fake.messages('ack')).toEqual([{ type: 'ack', seq: 1 }])
  })
})
