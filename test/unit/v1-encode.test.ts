import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Outbound, PollQuery } from '../../src/protocol/types.js'
import { v1Protocol } from '../../src/protocol/v1.js'
import { clientMessage, pollPost } from '../../src/protocol/v1-schema.js'

const http = v1Protocol.http!
/** v1 has a frame for every message. */
function encode(m: Outbound): string {
  const frame = v1Protocol.encode(m)
  if (frame === null) throw new Error(`v1 has no frame for ${m.type}`)
  return frame
}

/** One message of every Outbound kind. */
const EVERY_KIND: Outbound[] = [
  { type: 'hello', session: 's-7f3', after: 41, events: ['alert', 'incident.*'] },
  { type: 'hello', session: null, after: null, events: [], token: 'eyJ.x.y' },
  { type: 'subscribe', events: ['host'], all: ['alert', 'host'] },
  { type: 'unsubscribe', events: ['host', 'jobs.**'], all: [] },
  { type: 'replay', after: 41 },
  { type: 'ack', seq: 42 },
  { type: 'ping', id: 7 },
  { type: 'pong', id: 3 },
  { type: 'pong', id: 'srv-3' },
  { type: 'refresh' },
  { type: 'auth', token: 'eyJ.x.y' },
]

/** The wire form: what the message says, plus `v: 1` on hello; a pattern change carries only the change, not `all`. */
function wire(m: Outbound): Record<string, unknown> {
  if (m.type === 'hello') return { ...m, v: 1 }
  if (m.type === 'subscribe' || m.type === 'unsubscribe') return { type: m.type, events: m.events }
  return { ...m }
}

describe('v1 encode', () => {
  it('covers every Outbound kind', () => {
    expect(new Set(EVERY_KIND.map((m) => m.type))).toEqual(
      new Set(['hello', 'subscribe', 'unsubscribe', 'replay', 'ack', 'ping', 'pong', 'refresh', 'auth']),
    )
  })

  it.each(EVERY_KIND.map((m) => [m.type, m] as const))('%s: valid for the clientMessage schema, nothing added but v on hello', (_, m) => {
    const frame = encode(m)
    const parsed = clientMessage.safeParse(JSON.parse(frame))
    expect(parsed.success).toBe(true)
    expect(JSON.parse(frame)).toStrictEqual(wire(m))
    expect(parsed.data).toStrictEqual(wire(m))
  })

  it('hello carries the protocol version 1', () => {
    expect(JSON.parse(encode({ type: 'hello', session: null, after: null, events: ['alert'] }))).toStrictEqual({
      type: 'hello',
      v: 1,
      session: null,
      after: null,
      events: ['alert'],
    })
  })

  it('any message the client can build encodes to a valid frame', () => {
    const patterns = fc.array(fc.string(), { maxLength: 5 })
    const outbound: fc.Arbitrary<Outbound> = fc.oneof(
      fc.record(
        {
          type: fc.constant('hello' as const),
          session: fc.option(fc.string(), { nil: null }),
          after: fc.option(fc.maxSafeNat(), { nil: null }),
          events: patterns,
          token: fc.string(),
        },
        { requiredKeys: ['type', 'session', 'after', 'events'] },
      ),
      fc.record({ type: fc.constantFrom('subscribe' as const, 'unsubscribe' as const), events: patterns, all: patterns }),
      fc.record({ type: fc.constant('replay' as const), after: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('ack' as const), seq: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('ping' as const), id: fc.integer() }),
      fc.record({ type: fc.constant('pong' as const), id: fc.oneof(fc.integer(), fc.string()) }),
      fc.constant({ type: 'refresh' as const }),
      fc.record({ type: fc.constant('auth' as const), token: fc.string() }),
    )
    fc.assert(
      fc.property(outbound, (m) => {
        const parsed = clientMessage.safeParse(JSON.parse(encode(m)))
        expect(parsed.success).toBe(true)
        expect(parsed.data).toStrictEqual(wire(m))
      }),
      { numRuns: 1000 },
    )
  })
})

describe('v1 encodePost', () => {
  it('is valid for the pollPost schema and carries the session and the messages in order', () => {
    const messages = EVERY_KIND.filter((m) => m.type !== 'hello' && m.type !== 'ping' && m.type !== 'pong')
    const body = JSON.parse(http.encodePost!('s-7f3', messages))
    expect(pollPost.safeParse(body).success).toBe(true)
    expect(body).toStrictEqual({ session: 's-7f3', messages: messages.map(wire) })
  })

  it('an empty batch is still a valid body', () => {
    expect(JSON.parse(http.encodePost!('s', []))).toStrictEqual({ session: 's', messages: [] })
  })
})

describe('v1 pollUrl', () => {
  const q = (over: Partial<PollQuery> = {}): PollQuery => ({ session: 's-7f3', after: 41, events: ['alert', 'incident.*'], wait: 25000, ...over })

  it.each([
    ['https://api.example.com/api/events', q(), 'https://api.example.com/api/events?session=s-7f3&after=41&events=alert%2Cincident.*&wait=25000'],
    ['https://api.example.com/api/events', q({ wait: 0 }), 'https://api.example.com/api/events?session=s-7f3&after=41&events=alert%2Cincident.*'],
    ['https://api.example.com/api/events', q({ session: null, after: null, wait: 0 }), 'https://api.example.com/api/events?events=alert%2Cincident.*'],
    ['https://api.example.com/api/events', q({ after: 0, wait: 0 }), 'https://api.example.com/api/events?session=s-7f3&after=0&events=alert%2Cincident.*'],
    ['https://api.example.com/api/events', q({ events: [], wait: 0 }), 'https://api.example.com/api/events?session=s-7f3&after=41&events='],
    ['https://api.example.com/api/events?token=abc', q(), 'https://api.example.com/api/events?token=abc&session=s-7f3&after=41&events=alert%2Cincident.*&wait=25000'],
    ['https://api.example.com/api/events?token=abc&x=1', q({ wait: 0, session: null, after: null, events: ['jobs.**'] }), 'https://api.example.com/api/events?token=abc&x=1&events=jobs.**'],
    ['/api/events', q({ wait: 0 }), '/api/events?session=s-7f3&after=41&events=alert%2Cincident.*'],
  ])('%s + %j → %s', (base, query, expected) => {
    expect(http.pollUrl(base, query)).toBe(expected)
  })

  it('encodes what it carries so that a server reads it back unchanged', () => {
    const url = new URL(http.pollUrl('https://api.example.com/api/events?token=a%26b', q({ session: 's 1&x=#2', events: ['a.b', 'c&d', 'é.*'] })))
    expect(url.searchParams.get('token')).toBe('a&b')
    expect(url.searchParams.get('session')).toBe('s 1&x=#2')
    expect(url.searchParams.get('after')).toBe('41')
    expect(url.searchParams.get('events')).toBe('a.b,c&d,é.*')
    expect(url.searchParams.get('wait')).toBe('25000')
    expect(url.hash).toBe('')
  })
})
