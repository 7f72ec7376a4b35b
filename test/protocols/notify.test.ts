/** `notifyProtocol`: what a frame means and how a fetched state becomes an event (src/protocol/notify.ts). */
import { describe, expect, it } from 'vitest'
import type { HttpCodec, Outbound } from '../../src/protocol/types.js'
import { notifyProtocol } from '../../src/protocols/index.js'

const notify = notifyProtocol()
const http = notify.http as HttpCodec

describe('notifyProtocol: capabilities and defaults', () => {
  it('has no seq, no handshake, no ping and no server-side filtering; an HTTP side without POST', () => {
    expect(notify.name).toBe('notify')
    expect(notify.capabilities).toEqual({ seq: false, handshake: 'none', ping: false, filter: false })
    expect(http.encodePost).toBeUndefined()
  })

  it('polls every 60 s as the fallback, refetches at most once per second, and does not time out a silent link', () => {
    expect(notify.defaults).toEqual({ heartbeat: { interval: 0 }, polling: { interval: 60_000 }, refetchInterval: 1000 })
  })
})

describe('notifyProtocol: decode', () => {
  it('any frame at all says the state changed', () => {
    for (const frame of ['changed', '{"type":"changed"}', '', '{"__proto__":1}', 'not json {', '<div hx-swap-oob="true"></div>']) {
      expect(notify.decode(frame)).toEqual({ type: 'changed' })
    }
  })
})

describe('notifyProtocol: the fetched state', () => {
  it('is fetched from pollUrl as it is', () => {
    expect(http.pollUrl('https://app.test/dashboard/stats?tab=sales', { session: 'x', after: 3, events: ['changed'], wait: 0 })).toBe('https://app.test/dashboard/stats?tab=sales')
  })

  it('becomes one event: the body parsed as JSON, or the text when it is not JSON', () => {
    expect(http.decodePoll('{"orders":3,"revenue":120}')).toEqual({ ok: true, value: { events: [{ type: 'event', event: 'changed', data: { orders: 3, revenue: 120 } }] } })
    expect(http.decodePoll('<section id="stats"><p>Orders: 3</p></section>')).toEqual({
      ok: true,
      value: { events: [{ type: 'event', event: 'changed', data: '<section id="stats"><p>Orders: 3</p></section>' }] },
    })
    expect(http.decodePoll('')).toEqual({ ok: true, value: { events: [{ type: 'event', event: 'changed', data: '' }] } })
    expect(http.decodePoll('[1,2]')).toEqual({ ok: true, value: { events: [{ type: 'event', event: 'changed', data: [1, 2] }] } })
  })

  it('is named as the event option says', () => {
    const named = notifyProtocol({ event: 'stats' }).http as HttpCodec
    expect(named.decodePoll('{"orders":1}')).toEqual({ ok: true, value: { events: [{ type: 'event', event: 'stats', data: { orders: 1 } }] } })
  })

  it('a __proto__ key is removed and reported, the state still delivered', () => {
    const decoded = http.decodePoll('{"orders":1,"__proto__":{"isAdmin":true}}')
    expect(decoded).toEqual({ ok: true, value: { events: [{ type: 'event', event: 'changed', data: { orders: 1 } }] }, warning: 'a "__proto__" key was removed from the response' })
    // the next answer without one carries no warning
    expect(http.decodePoll('{"orders":2}')).toEqual({ ok: true, value: { events: [{ type: 'event', event: 'changed', data: { orders: 2 } }] } })
  })
})

describe('notifyProtocol: encode', () => {
  it('the server takes no message', () => {
    const all: Outbound[] = [
      { type: 'subscribe', events: ['changed'], all: ['changed'] },
      { type: 'ping', id: 1 },
      { type: 'pong', id: 1 },
      { type: 'refresh' },
      { type: 'auth', token: 't' },
    ]
    expect(all.map((m) => notify.encode(m))).toEqual(all.map(() => null))
  })

  it('the socket URL carries the token (with auth) and the query', () => {
    const url = notifyProtocol({ query: { board: 'sales' } }).socketUrl as NonNullable<typeof notify.socketUrl>
    expect(url('wss://app.test/ws', { token: 't' })).toBe('wss://app.test/ws?board=sales&token=t')
  })
})
