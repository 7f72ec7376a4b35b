/** `typedUpdatesProtocol`: its frames, exactly as the header of src/protocol/typed-updates.ts defines them. */
import { describe, expect, it } from 'vitest'
import type { Outbound } from '../../src/protocol/types.js'
import { typedUpdatesProtocol } from '../../src/protocols/index.js'

const feed = typedUpdatesProtocol({ query: { time_range: '1h' } })

describe('typedUpdatesProtocol: capabilities', () => {
  it('has no seq, waits for the server to speak first, has no ping (silence timeout) and no server-side filtering', () => {
    expect(feed.name).toBe('typed-updates')
    expect(feed.capabilities).toEqual({ seq: false, handshake: 'server', ping: false, filter: false })
    expect(feed.http).toBeUndefined()
  })
})

describe('typedUpdatesProtocol: decode', () => {
  it('connection opens the link, named by client_id when there is one', () => {
    expect(feed.decode('{"type":"connection","status":"connected","client_id":"c-81f2","timestamp":"2025-01-01T12:00:00Z"}')).toEqual({
      type: 'welcome',
      session: 'c-81f2',
      resumed: false,
      seq: 0,
    })
    expect(feed.decode('{"type":"connection"}')).toEqual({ type: 'welcome', session: '', resumed: false, seq: 0 })
    expect(feed.decode('{"type":"connection","client_id":42}')).toEqual({ type: 'invalid', error: 'invalid "connection" message: "client_id" must be a string' })
  })

  it('metrics_update and security_metrics_update are events with their data and timestamp', () => {
    expect(feed.decode('{"type":"metrics_update","data":{"requests":1201,"p95_ms":180},"timestamp":"2025-01-01T12:00:05Z"}')).toEqual({
      type: 'event',
      event: 'metrics_update',
      data: { requests: 1201, p95_ms: 180 },
      ts: Date.UTC(2025, 0, 1, 12, 0, 5),
    })
    expect(feed.decode('{"type":"security_metrics_update","data":{"blocked":3}}')).toEqual({ type: 'event', event: 'security_metrics_update', data: { blocked: 3 } })
    // a type the feed adds later is an event too; the client's patterns decide whether it is delivered
    expect(feed.decode('{"type":"alerts_update","data":[]}')).toEqual({ type: 'event', event: 'alerts_update', data: [] })
  })

  it('heartbeat is no message (its frame still counts as traffic); error is an error', () => {
    expect(feed.decode('{"type":"heartbeat","timestamp":"2025-01-01T12:00:15Z"}')).toBeNull()
    expect(feed.decode('{"type":"error","message":"metrics backend unavailable"}')).toEqual({ type: 'error', code: 'error', message: 'metrics backend unavailable' })
    expect(feed.decode('{"type":"error","code":"bad_time_range","message":"unknown time_range 2y"}')).toEqual({ type: 'error', code: 'bad_time_range', message: 'unknown time_range 2y' })
  })

  it('bad frames are invalid; a __proto__ key is removed and reported', () => {
    expect(feed.decode('{"type":')).toEqual({ type: 'invalid', error: 'frame is not valid JSON' })
    expect(feed.decode('{"kind":"metrics_update"}')).toEqual({ type: 'invalid', error: 'frame is not an object with a string "type"' })
    expect(feed.decode('{"type":"metrics_update","data":{"__proto__":{"x":1},"cpu":0.4}}')).toEqual({
      type: 'invalid',
      error: 'a "__proto__" key was removed from the frame',
      value: { type: 'event', event: 'metrics_update', data: { cpu: 0.4 } },
    })
    expect(feed.decode('{"type":"connection","__proto__":{"client_id":"x"}}')).toEqual({
      type: 'invalid',
      error: 'a "__proto__" key was removed from the frame',
      value: { type: 'welcome', session: '', resumed: false, seq: 0 },
    })
  })
})

describe('typedUpdatesProtocol: encode', () => {
  it('the feed takes no message at all', () => {
    const all: Outbound[] = [
      { type: 'hello', session: null, after: null, events: [] },
      { type: 'subscribe', events: ['metrics_update'], all: ['metrics_update'] },
      { type: 'unsubscribe', events: ['metrics_update'], all: [] },
      { type: 'ping', id: 1 },
      { type: 'pong', id: 1 },
      { type: 'refresh' },
      { type: 'ack', seq: 1 },
      { type: 'replay', after: 0 },
      { type: 'auth', token: 't' },
    ]
    expect(all.map((m) => feed.encode(m))).toEqual(all.map(() => null))
  })
})

describe('typedUpdatesProtocol: socketUrl', () => {
  it('puts the query (time_range) and the token in the URL', () => {
    const url = feed.socketUrl as NonNullable<typeof feed.socketUrl>
    expect(url('wss://dash.test/ws/metrics', { token: undefined })).toBe('wss://dash.test/ws/metrics?time_range=1h')
    expect(url('wss://dash.test/ws/metrics', { token: 'jwt' })).toBe('wss://dash.test/ws/metrics?time_range=1h&token=jwt')
    expect((typedUpdatesProtocol().socketUrl as NonNullable<typeof feed.socketUrl>)('wss://dash.test/ws', { token: undefined })).toBe('wss://dash.test/ws')
  })
})
