/**
 * The client, built from src/ with Node's own WebSocket and fetch, against each mini server of
 * examples/servers/ through real sockets on a free port: what the adapters' headers describe is
 * what those servers do.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startEventBus } from '../../examples/servers/event-bus.mjs'
import { startHub } from '../../examples/servers/hub.mjs'
import { startNotify } from '../../examples/servers/notify.mjs'
import { startTypedUpdates } from '../../examples/servers/typed-updates.mjs'
import { RealtimeClient } from '../../src/index.js'
import { eventBusProtocol, hubProtocol, notifyProtocol, typedUpdatesProtocol } from '../../src/protocols/index.js'
import type { ClientOptions } from '../../src/types.js'
import { record } from './record.js'

const RECONNECT = { minDelay: 20, maxDelay: 100, factor: 2, jitter: 0, maxAttempts: 5, connectTimeout: 2000 }
const cleanup: (() => unknown)[] = []

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** A server closed after the test. */
async function started<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const s = await server
  cleanup.push(() => s.close())
  return s
}

/** A client closed after the test (before its server). */
function client(options: ClientOptions): RealtimeClient {
  const c = new RealtimeClient({ dedupe: false, reconnect: RECONNECT, ...options })
  cleanup.push(() => c.close())
  return c
}

describe('the mini servers of examples/servers, through real sockets', () => {
  it('event bus: subscriptions reach the bus, events come typed, ping is answered', async () => {
    const bus = await started(startEventBus())
    const c = client({ url: bus.url, protocol: eventBusProtocol(), subscribe: ['alert', 'incident'], heartbeat: { interval: 100, timeout: 1000 } })
    const r = record(c)
    await expect.poll(() => bus.subscriptions()).toEqual([['alert', 'incident']])
    bus.publish('host', { name: 'web-1' })
    bus.publish('alert', { id: 'a1', severity: 'high' })
    bus.publish('incident', { id: 'i1', title: 'Checkout latency' })
    await expect.poll(() => r.events.map((e) => [e.event, e.data, e.seq])).toEqual([
      ['alert', { id: 'a1', severity: 'high' }, 1],
      ['incident', { id: 'i1', title: 'Checkout latency' }, 2],
    ])
    expect(r.events.every((e) => typeof e.ts === 'number')).toBe(true)
    await expect.poll(() => c.stats.rtt).not.toBeNull()
    expect(bus.received).toContainEqual({ type: 'ping', id: 1 })
    const off = c.subscribe('*')
    await expect.poll(() => bus.subscriptions()).toEqual([[]])
    bus.publish('host', { name: 'web-2' })
    await expect.poll(() => r.events.map((e) => e.event)).toEqual(['alert', 'incident', 'host'])
    off()
    await expect.poll(() => bus.subscriptions()).toEqual([['alert', 'incident']])
    expect(r.errors).toEqual([])
    expect(c.stats.sequenced).toBe(false)
  })

  it('typed updates: the time range goes in the URL, the feed greets, its updates are delivered', async () => {
    const feed = await started(startTypedUpdates({ interval: 60_000, heartbeat: 100 }))
    const c = client({
      url: feed.url,
      protocol: typedUpdatesProtocol({ query: { time_range: '24h' } }),
      subscribe: ['metrics_update', 'security_metrics_update'],
      // the feed's heartbeats (every 100 ms) keep a link that must not stay silent 400 ms
      heartbeat: { interval: 200, timeout: 200 },
    })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    expect(feed.connections).toEqual([{ timeRange: '24h', token: null }])
    feed.push()
    await expect.poll(() => r.events.map((e) => [e.event, e.data])).toEqual([
      ['metrics_update', { time_range: '24h', round: 1, requests: 1201, p95_ms: 180 }],
      ['security_metrics_update', { time_range: '24h', round: 1, blocked: 3 }],
    ])
    // heartbeats only, for longer than the silence timeout: the link stays
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(feed.connections).toHaveLength(1)
    expect(r.errors).toEqual([])
  })

  it("typed updates: the feed's error for a bad time range is reported", async () => {
    const feed = await started(startTypedUpdates({ interval: 60_000 }))
    const c = client({ url: feed.url, protocol: typedUpdatesProtocol({ query: { time_range: '2y' } }), subscribe: ['metrics_update'] })
    const r = record(c)
    await expect.poll(() => r.errors.map((e) => [e.code, e.serverCode, e.message])).toContainEqual(['server', 'bad_time_range', 'unknown time_range 2y'])
    expect(c.status).not.toBe('open')
  })

  it('notify: each order is a notice, and the client fetches the fragment it changed', async () => {
    const shop = await started(startNotify())
    const c = client({ url: shop.url, pollUrl: shop.pollUrl, protocol: notifyProtocol(), subscribe: ['changed'] })
    const r = record(c)
    c.refresh()
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([shop.fragment()])
    shop.order(40)
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([
      '<section id="stats"><p>Orders: 0</p><p>Revenue: $0</p></section>',
      '<section id="stats"><p>Orders: 1</p><p>Revenue: $40</p></section>',
    ])
    expect(shop.fetches()).toBe(2)
    expect(r.errors).toEqual([])
  })

  it('hub: the JWT opens it, pings and refresh are answered, changes are pushed; a bad token is replaced', async () => {
    const hub = await started(startHub({ verify: (token) => token !== 'jwt-1' }))
    let n = 0
    const c = client({
      url: hub.url,
      protocol: hubProtocol(),
      auth: { getToken: () => ({ token: `jwt-${++n}` }) },
      subscribe: ['dashboard_update'],
      heartbeat: { interval: 100, timeout: 1000 },
    })
    const r = record(c)
    await expect.poll(() => r.events).toHaveLength(1)
    // jwt-1 was refused with 4001, jwt-2 let in
    expect(hub.tokens).toEqual(['jwt-1', 'jwt-2'])
    expect(r.events[0]?.data).toEqual({ active_users: 0, open_incidents: 0, version: 0 })
    hub.change({ active_users: 12 })
    await expect.poll(() => r.events.at(-1)?.data).toEqual({ active_users: 12, open_incidents: 0, version: 1 })
    c.refresh()
    await expect.poll(() => r.events).toHaveLength(3)
    await expect.poll(() => hub.received).toContainEqual({ action: 'ping' })
    expect(hub.received).toContainEqual({ action: 'refresh' })
    expect(hub.received.filter((m) => (m as { action: string }).action !== 'ping')).toEqual([{ action: 'refresh' }])
    expect(r.errors).toEqual([])
    expect(c.status).toBe('open')
  })

  it('hub: a hub that refuses every token once the socket is open (4001) stops the client after three refusals, as a v1 server would', async () => {
    const hub = await started(startHub({ verify: () => false }))
    let n = 0
    const c = client({ url: hub.url, protocol: hubProtocol(), auth: { getToken: () => ({ token: `jwt-${++n}` }) }, subscribe: ['dashboard_update'] })
    const r = record(c)
    await expect.poll(() => c.status, { timeout: 3000 }).toBe('closed')
    expect(hub.tokens).toEqual(['jwt-1', 'jwt-2', 'jwt-3'])
    expect(r.errors.map((e) => e.code)).toEqual(['unauthorized'])
  })
})
