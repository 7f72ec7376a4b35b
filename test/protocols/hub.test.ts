/** `hubProtocol`: its frames, exactly as the header of src/protocol/hub.ts defines them. */
import { describe, expect, it } from 'vitest'
import { hubProtocol } from '../../src/protocols/index.js'

const hub = hubProtocol()

describe('hubProtocol: capabilities', () => {
  it('has no seq and no handshake, pings, and leaves filtering to the client', () => {
    expect(hub.name).toBe('hub')
    expect(hub.capabilities).toEqual({ seq: false, handshake: 'none', ping: true, filter: false })
    expect(hub.http).toBeUndefined()
  })
})

describe('hubProtocol: decode', () => {
  it('{action:"pong"} is a pong that answers no ping in particular', () => {
    expect(hub.decode('{"action":"pong"}')).toEqual({ type: 'pong', id: 0 })
    // an action the client never sends is ignored
    expect(hub.decode('{"action":"ping"}')).toBeNull()
    expect(hub.decode('{"action":"resize","cols":80}')).toBeNull()
  })

  it('dashboard_update is an event with its data and timestamp; error is an error', () => {
    expect(hub.decode('{"type":"dashboard_update","data":{"active_users":120,"open_incidents":2},"timestamp":"2025-01-01T12:00:00Z"}')).toEqual({
      type: 'event',
      event: 'dashboard_update',
      data: { active_users: 120, open_incidents: 2 },
      ts: Date.UTC(2025, 0, 1, 12),
    })
    expect(hub.decode('{"type":"error","message":"invalid token"}')).toEqual({ type: 'error', code: 'error', message: 'invalid token' })
    expect(hub.decode('{"type":"error","code":"forbidden","message":"no access to this dashboard"}')).toEqual({ type: 'error', code: 'forbidden', message: 'no access to this dashboard' })
  })

  it('bad frames are invalid; a __proto__ key is removed and reported', () => {
    expect(hub.decode('pong')).toEqual({ type: 'invalid', error: 'frame is not valid JSON' })
    expect(hub.decode('{"action":1}')).toEqual({ type: 'invalid', error: 'frame is not an object with a string "type"' })
    expect(hub.decode('{"type":"error","message":7}')).toEqual({ type: 'invalid', error: 'invalid "error" message: "message" must be a string' })
    expect(hub.decode('{"action":"pong","__proto__":{"x":1}}')).toEqual({ type: 'invalid', error: 'a "__proto__" key was removed from the frame', value: { type: 'pong', id: 0 } })
    expect(hub.decode('{"type":"dashboard_update","data":{"widgets":[{"__proto__":{"isAdmin":true}}]}}')).toEqual({
      type: 'invalid',
      error: 'a "__proto__" key was removed from the frame',
      value: { type: 'event', event: 'dashboard_update', data: { widgets: [{}] } },
    })
  })
})

describe('hubProtocol: encode', () => {
  it('ping and refresh are actions; nothing else has a frame on the hub', () => {
    expect(hub.encode({ type: 'ping', id: 4 })).toBe('{"action":"ping"}')
    expect(hub.encode({ type: 'refresh' })).toBe('{"action":"refresh"}')
    expect(hub.encode({ type: 'subscribe', events: ['dashboard_update'], all: ['dashboard_update'] })).toBeNull()
    expect(hub.encode({ type: 'unsubscribe', events: ['dashboard_update'], all: [] })).toBeNull()
    expect(hub.encode({ type: 'auth', token: 'jwt' })).toBeNull()
    expect(hub.encode({ type: 'hello', session: null, after: null, events: [] })).toBeNull()
    expect(hub.encode({ type: 'ack', seq: 1 })).toBeNull()
    expect(hub.encode({ type: 'pong', id: 1 })).toBeNull()
  })
})

describe('hubProtocol: socketUrl', () => {
  it('puts the JWT in the token parameter (or the one named)', () => {
    const url = hub.socketUrl as NonNullable<typeof hub.socketUrl>
    expect(url('wss://hub.test/ws', { token: 'eyJhbGciOi.eyJzdWIi.sig' })).toBe('wss://hub.test/ws?token=eyJhbGciOi.eyJzdWIi.sig')
    expect(url('wss://hub.test/ws', { token: undefined })).toBe('wss://hub.test/ws')
    const jwt = hubProtocol({ tokenParam: 'jwt' }).socketUrl as NonNullable<typeof hub.socketUrl>
    expect(jwt('wss://hub.test/ws?room=ops', { token: 'abc' })).toBe('wss://hub.test/ws?room=ops&jwt=abc')
  })
})
