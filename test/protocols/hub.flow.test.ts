/**
 * The client on `hubProtocol` against a mocked hub of that exact shape: the JWT in `?token=`,
 * `{"action":"ping"}` / `{"action":"pong"}`, `{"action":"refresh"}`, `dashboard_update` and `error`.
 */
import { describe, expect, it, vi } from 'vitest'
import { hubProtocol } from '../../src/protocols/index.js'
import { FAST, mockServer, setupProtocolFlows } from './msw-harness.js'
import { record } from './record.js'

const URL = 'wss://hub.test/ws'
const { server, client } = setupProtocolFlows()

/** The hub: checks the token, pushes the dashboard on connect and on refresh, answers ping. */
function hub(valid: (token: string | null) => boolean = (t) => t !== null) {
  const dashboard = { active_users: 120, open_incidents: 2, version: 1 }
  const update = () => ({ type: 'dashboard_update', data: { ...dashboard }, timestamp: '2025-01-01T12:00:00Z' })
  const controls = { answerPings: true }
  const mock = mockServer(`${URL}*`, {
    onSocket(socket) {
      if (!valid(new globalThis.URL(socket.url).searchParams.get('token'))) return socket.close(4001, 'invalid token')
      socket.send(update())
    },
    onMessage(m, socket) {
      const { action } = m as { action?: string }
      if (action === 'ping' && controls.answerPings) socket.send({ action: 'pong' })
      else if (action === 'refresh') socket.send(update())
    },
  })
  server.use(mock.handler)
  return {
    ...mock,
    controls,
    change(values: Partial<typeof dashboard>) {
      Object.assign(dashboard, values, { version: dashboard.version + 1 })
      for (const s of mock.sockets) if (s.open) s.send(update())
    },
  }
}

const tokens = () => {
  let n = 0
  return { getToken: () => ({ token: `jwt-${++n}` }) }
}

describe('hubProtocol against a hub', () => {
  it('opens the hub with the JWT in the URL and delivers its dashboard updates', async () => {
    const h = hub()
    const c = client({ url: URL, protocol: hubProtocol(), auth: tokens(), subscribe: ['dashboard_update'] })
    const r = record(c)
    await expect.poll(() => r.events).toHaveLength(1)
    expect(h.last().url).toBe('wss://hub.test/ws?token=jwt-1')
    h.change({ active_users: 130 })
    await expect.poll(() => r.events).toHaveLength(2)
    expect(r.events).toEqual([
      { event: 'dashboard_update', data: { active_users: 120, open_incidents: 2, version: 1 }, seq: 1, ts: Date.UTC(2025, 0, 1, 12) },
      { event: 'dashboard_update', data: { active_users: 130, open_incidents: 2, version: 2 }, seq: 2, ts: Date.UTC(2025, 0, 1, 12) },
    ])
    // the hub has no subscriptions: nothing was sent for them
    expect(h.last().received).toEqual([])
    expect(c.stats.sequenced).toBe(false)
  })

  it('a refused token (4001) is replaced: the next socket carries a fresh one', async () => {
    const h = hub((t) => t === 'jwt-2')
    const c = client({ url: URL, protocol: hubProtocol(), auth: tokens(), subscribe: ['dashboard_update'], ...FAST })
    const r = record(c)
    await expect.poll(() => r.events).toHaveLength(1)
    expect(h.sockets.map((s) => s.url)).toEqual(['wss://hub.test/ws?token=jwt-1', 'wss://hub.test/ws?token=jwt-2'])
    expect(c.status).toBe('open')
  })

  it('a hub that refuses every token before the socket opens (4001) stops the client after three refusals', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const h = hub(() => false)
    const c = client({ url: URL, protocol: hubProtocol(), auth: tokens(), subscribe: ['dashboard_update'], ...FAST })
    const r = record(c)
    await vi.advanceTimersByTimeAsync(5_000)
    await expect.poll(() => c.status).toBe('closed')
    expect(h.sockets.map((s) => s.url)).toEqual(['wss://hub.test/ws?token=jwt-1', 'wss://hub.test/ws?token=jwt-2', 'wss://hub.test/ws?token=jwt-3'])
    expect(r.errors.map((e) => e.code)).toEqual(['unauthorized'])
  })

  it('the token goes in a parameter of another name when told', async () => {
    const h = hub(() => true)
    const c = client({ url: `${URL}?room=ops`, protocol: hubProtocol({ tokenParam: 'jwt' }), auth: tokens(), subscribe: ['dashboard_update'] })
    await expect.poll(() => c.status).toBe('open')
    expect(h.last().url).toBe('wss://hub.test/ws?room=ops&jwt=jwt-1')
  })

  it('refresh() sends {"action":"refresh"} and the update it brings is delivered', async () => {
    const h = hub()
    const c = client({ url: URL, protocol: hubProtocol(), auth: tokens(), subscribe: ['dashboard_update'] })
    const r = record(c)
    await expect.poll(() => r.events).toHaveLength(1)
    c.refresh()
    await expect.poll(() => h.last().received).toEqual([{ action: 'refresh' }])
    await expect.poll(() => r.events).toHaveLength(2)
  })

  it('pings with {"action":"ping"}; the pong keeps the link (no round trip: it carries no id); a hub that stops answering is left', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const h = hub()
    const c = client({ url: URL, protocol: hubProtocol(), auth: tokens(), subscribe: ['dashboard_update'], heartbeat: { interval: 1000, timeout: 500 }, ...FAST })
    await expect.poll(() => c.status).toBe('open')
    for (let i = 1; i <= 3; i++) {
      await vi.advanceTimersByTimeAsync(1000)
      await expect.poll(() => h.last().received).toHaveLength(i)
    }
    expect(h.last().received).toEqual([{ action: 'ping' }, { action: 'ping' }, { action: 'ping' }])
    expect(h.sockets).toHaveLength(1)
    expect(c.stats.rtt).toBeNull()
    h.controls.answerPings = false
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => h.last().received).toHaveLength(4)
    await vi.advanceTimersByTimeAsync(600)
    await expect.poll(() => h.sockets.length).toBe(2)
    expect(h.sockets[0]?.open).toBe(false)
  })

  it("the hub's error is an error event; a renewed token waits for the next socket (no message renews it)", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const h = hub()
    let n = 0
    const c = client({
      url: URL,
      protocol: hubProtocol(),
      auth: { getToken: () => ({ token: `jwt-${++n}`, expiresAt: Date.now() + 10_000 }), refreshBefore: 2_000 },
      subscribe: ['dashboard_update'],
    })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    h.last().send({ type: 'error', code: 'forbidden', message: 'no access to incidents' })
    await expect.poll(() => r.errors.map((e) => [e.code, e.message, e.serverCode])).toEqual([['server', 'no access to incidents', 'forbidden']])
    // the renewal time comes: a fresh token is fetched, nothing is sent, the socket stays
    await vi.advanceTimersByTimeAsync(8_500)
    await expect.poll(() => n).toBe(2)
    expect(h.last().received).toEqual([])
    expect(h.sockets).toHaveLength(1)
    c.reconnect()
    await expect.poll(() => h.sockets.length).toBe(2)
    expect(h.last().url).toBe('wss://hub.test/ws?token=jwt-2')
  })
})
