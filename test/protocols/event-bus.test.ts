/** `eventBusProtocol`: its frames both ways, exactly as the header of src/protocol/event-bus.ts defines them. */
import { describe, expect, it } from 'vitest'
import { eventBusProtocol } from '../../src/protocols/index.js'

const bus = eventBusProtocol()
const sub = (events: string[], all: string[]) => bus.encode({ type: 'subscribe', events, all })
const unsub = (events: string[], all: string[]) => bus.encode({ type: 'unsubscribe', events, all })

describe('eventBusProtocol: capabilities', () => {
  it('has no seq, no handshake, pings, and leaves filtering to the client', () => {
    expect(bus.name).toBe('event-bus')
    expect(bus.capabilities).toEqual({ seq: false, handshake: 'none', ping: true, filter: false })
    expect(bus.http).toBeUndefined()
  })
})

describe('eventBusProtocol: decode', () => {
  it('an event is named by its type, carries its data and its timestamp as ts; unknown fields are left behind', () => {
    expect(bus.decode('{"type":"alert","data":{"id":"a1","severity":"high"},"timestamp":"2025-01-01T12:00:00.000Z","extra":1}')).toEqual({
      type: 'event',
      event: 'alert',
      data: { id: 'a1', severity: 'high' },
      ts: Date.UTC(2025, 0, 1, 12),
    })
    expect(bus.decode('{"type":"host","data":[1,2]}')).toEqual({ type: 'event', event: 'host', data: [1, 2] })
    // no data: undefined, as v1
    expect(bus.decode('{"type":"incident"}')).toEqual({ type: 'event', event: 'incident', data: undefined })
  })

  it('a timestamp that is no date is left out; one that is not a string makes the frame invalid', () => {
    expect(bus.decode('{"type":"alert","data":1,"timestamp":"yesterday"}')).toEqual({ type: 'event', event: 'alert', data: 1 })
    expect(bus.decode('{"type":"alert","data":1,"timestamp":1735732800}')).toEqual({ type: 'invalid', error: 'invalid event: "timestamp" must be a string' })
  })

  it('pong, with its id or without one; error, with its code or "error"', () => {
    expect(bus.decode('{"type":"pong","id":3}')).toEqual({ type: 'pong', id: 3 })
    expect(bus.decode('{"type":"pong"}')).toEqual({ type: 'pong', id: 0 })
    expect(bus.decode('{"type":"pong","id":{}}')).toEqual({ type: 'invalid', error: 'invalid "pong" message: "id" must be a number or a string' })
    expect(bus.decode('{"type":"error","code":"slow_consumer","message":"events were skipped"}')).toEqual({ type: 'error', code: 'slow_consumer', message: 'events were skipped' })
    expect(bus.decode('{"type":"error","message":"boom"}')).toEqual({ type: 'error', code: 'error', message: 'boom' })
    expect(bus.decode('{"type":"error"}')).toEqual({ type: 'invalid', error: 'invalid "error" message: "message" must be a string' })
  })

  it('bad frames are invalid, with the reason', () => {
    expect(bus.decode('not json')).toEqual({ type: 'invalid', error: 'frame is not valid JSON' })
    expect(bus.decode('[1]')).toEqual({ type: 'invalid', error: 'frame is not an object with a string "type"' })
    expect(bus.decode('{"type":5}')).toEqual({ type: 'invalid', error: 'frame is not an object with a string "type"' })
    expect(bus.decode('null')).toEqual({ type: 'invalid', error: 'frame is not an object with a string "type"' })
  })

  it('a __proto__ key is removed, reported, and the event still delivered; a type named like an Object member is just a name', () => {
    const m = bus.decode('{"type":"alert","data":{"a":1,"__proto__":{"polluted":true}}}')
    expect(m).toEqual({ type: 'invalid', error: 'a "__proto__" key was removed from the frame', value: { type: 'event', event: 'alert', data: { a: 1 } } })
    expect(Object.getPrototypeOf((m as { value: { data: object } }).value.data)).toBe(Object.prototype)
    expect(bus.decode('{"type":"alert","data":{"\\u005f_proto__":{"polluted":true}}}')).toMatchObject({ type: 'invalid', value: { data: {} } })
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(bus.decode('{"type":"__proto__","data":1}')).toEqual({ type: 'event', event: '__proto__', data: 1 })
    expect(bus.decode('{"type":"constructor","data":1}')).toEqual({ type: 'event', event: 'constructor', data: 1 })
  })

  it('never throws', () => {
    for (const frame of ['', '{', '"x"', '1e400', '{"type":"alert","data":1e400}', '\u0000', '{"type":"pong","id":null}']) {
      expect(() => bus.decode(frame)).not.toThrow()
    }
  })
})

describe('eventBusProtocol: encode', () => {
  it('exact names go to the bus as they are added and removed', () => {
    expect(sub(['alert', 'incident'], ['alert', 'incident'])).toBe('{"type":"subscribe","events":["alert","incident"]}')
    expect(sub(['host'], ['alert', 'incident', 'host'])).toBe('{"type":"subscribe","events":["host"]}')
    expect(unsub(['alert'], ['incident', 'host'])).toBe('{"type":"unsubscribe","events":["alert"]}')
  })

  it('while a wildcard is held, the bus set is kept empty (every type comes; the client filters)', () => {
    // the first wildcard empties the bus set
    expect(sub(['alert.*'], ['incident', 'host', 'alert.*'])).toBe('{"type":"unsubscribe","events":["incident","host"]}')
    // a wildcard from the start: nothing to say
    expect(sub(['*'], ['*'])).toBeNull()
    expect(sub(['*', 'alert'], ['*', 'alert'])).toBeNull()
    // more names or wildcards while one is held: nothing to say
    expect(sub(['alert'], ['*', 'alert'])).toBeNull()
    expect(unsub(['alert'], ['*'])).toBeNull()
    // the last wildcard gone: the exact names come back
    expect(unsub(['**'], ['incident', 'host'])).toBe('{"type":"subscribe","events":["incident","host"]}')
    expect(unsub(['**'], [])).toBeNull()
  })

  it('ping carries its id; nothing else has a frame on the bus', () => {
    expect(bus.encode({ type: 'ping', id: 7 })).toBe('{"type":"ping","id":7}')
    expect(bus.encode({ type: 'hello', session: null, after: null, events: ['alert'] })).toBeNull()
    expect(bus.encode({ type: 'refresh' })).toBeNull()
    expect(bus.encode({ type: 'ack', seq: 1 })).toBeNull()
    expect(bus.encode({ type: 'replay', after: 1 })).toBeNull()
    expect(bus.encode({ type: 'auth', token: 't' })).toBeNull()
    expect(bus.encode({ type: 'pong', id: 1 })).toBeNull()
  })
})

describe('eventBusProtocol: socketUrl', () => {
  it('adds the token (with auth) and the query parameters, encoded', () => {
    const url = bus.socketUrl as NonNullable<typeof bus.socketUrl>
    expect(url('wss://bus.test/ws', { token: undefined })).toBe('wss://bus.test/ws')
    expect(url('wss://bus.test/ws', { token: 'a b&c' })).toBe('wss://bus.test/ws?token=a+b%26c')
    const custom = eventBusProtocol({ tokenParam: 'access_token', query: { team: 'ops' } }).socketUrl as NonNullable<typeof bus.socketUrl>
    expect(custom('wss://bus.test/ws?v=2', { token: 't1' })).toBe('wss://bus.test/ws?v=2&team=ops&access_token=t1')
  })
})
