/**
 * The client on `typedUpdatesProtocol` against a mocked feed of that exact shape: `connection`
 * first, then `metrics_update` / `security_metrics_update` / `heartbeat` / `error`, settings in the
 * socket URL, nothing ever sent by the client.
 */
import { describe, expect, it, vi } from 'vitest'
import { typedUpdatesProtocol } from '../../src/protocols/index.js'
import { FAST, mockServer, setupProtocolFlows } from './msw-harness.js'
import { record } from './record.js'

const URL = 'wss://dash.test/ws/metrics'
const { server, client } = setupProtocolFlows()
const at = (s: number) => `2025-01-01T12:00:${String(s).padStart(2, '0')}Z`

/** The feed: greets each socket (unless `greet` is off); the tests push the rest. */
function feed() {
  const controls = { greet: true }
  let n = 0
  const mock = mockServer(`${URL}*`, {
    onSocket: (socket) => controls.greet && socket.send({ type: 'connection', status: 'connected', client_id: `c-${++n}`, timestamp: at(0) }),
  })
  server.use(mock.handler)
  return { ...mock, controls }
}

describe('typedUpdatesProtocol against a dashboard feed', () => {
  it('is open once the feed says `connection`; delivers its typed updates; a heartbeat is no event', async () => {
    const f = feed()
    f.controls.greet = false
    const c = client({ url: URL, protocol: typedUpdatesProtocol({ query: { time_range: '1h' } }), subscribe: ['metrics_update', 'security_metrics_update'] })
    const r = record(c)
    await expect.poll(() => f.sockets.length).toBe(1)
    expect(f.last().url).toBe('wss://dash.test/ws/metrics?time_range=1h')
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(c.status).toBe('connecting')
    f.last().send({ type: 'connection', status: 'connected', client_id: 'c-1', timestamp: at(0) })
    await expect.poll(() => c.status).toBe('open')
    f.last().send({ type: 'metrics_update', data: { time_range: '1h', requests: 1201, p95_ms: 180 }, timestamp: at(5) })
    f.last().send({ type: 'heartbeat', timestamp: at(7) })
    f.last().send({ type: 'security_metrics_update', data: { time_range: '1h', blocked: 3 }, timestamp: at(10) })
    await expect.poll(() => r.events).toHaveLength(2)
    expect(r.events).toEqual([
      { event: 'metrics_update', data: { time_range: '1h', requests: 1201, p95_ms: 180 }, seq: 1, ts: Date.UTC(2025, 0, 1, 12, 0, 5) },
      { event: 'security_metrics_update', data: { time_range: '1h', blocked: 3 }, seq: 2, ts: Date.UTC(2025, 0, 1, 12, 0, 10) },
    ])
    expect(r.statuses).toEqual(['connecting', 'open'])
    expect(r.errors).toEqual([])
    expect(c.stats).toMatchObject({ sequenced: false, messages: 2, transport: 'websocket' })
  })

  it("delivers only the types the app subscribed to; the feed's error is an error event", async () => {
    const f = feed()
    const c = client({ url: URL, protocol: typedUpdatesProtocol(), subscribe: ['metrics_update'] })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    f.last().send({ type: 'security_metrics_update', data: { blocked: 1 } })
    f.last().send({ type: 'error', message: 'metrics backend unavailable' })
    f.last().send({ type: 'metrics_update', data: { requests: 1 } })
    await expect.poll(() => r.events.map((e) => e.event)).toEqual(['metrics_update'])
    expect(r.errors.map((e) => [e.code, e.message, e.serverCode])).toEqual([['server', 'metrics backend unavailable', 'error']])
  })

  it('sends nothing: no subscribe, no ping, no refresh', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const f = feed()
    const c = client({ url: URL, protocol: typedUpdatesProtocol(), subscribe: ['metrics_update'], heartbeat: { interval: 1000, timeout: 500 } })
    await expect.poll(() => c.status).toBe('open')
    c.subscribe('security_metrics_update')
    c.refresh()
    for (let i = 0; i < 5; i++) {
      f.last().send({ type: 'heartbeat' })
      await vi.advanceTimersByTimeAsync(1000)
    }
    expect(f.last().received).toEqual([])
    expect(c.status).toBe('open')
  })

  it('a feed silent for heartbeat.interval + timeout is left; the next socket is a resync', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const f = feed()
    const c = client({ url: URL, protocol: typedUpdatesProtocol({ query: { time_range: '24h' } }), subscribe: ['metrics_update'], heartbeat: { interval: 5000, timeout: 2000 }, ...FAST })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    // the feed's own rhythm: an update every 5 s keeps the link
    for (let i = 1; i <= 3; i++) {
      await vi.advanceTimersByTimeAsync(5000)
      f.last().send({ type: 'metrics_update', data: { round: i } })
    }
    await expect.poll(() => r.events).toHaveLength(3)
    expect(f.sockets).toHaveLength(1)
    // then nothing
    await vi.advanceTimersByTimeAsync(6900)
    expect(f.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(200)
    await expect.poll(() => f.sockets.length).toBe(2)
    await expect.poll(() => c.status).toBe('open')
    expect(f.sockets[0]?.open).toBe(false)
    expect(f.last().url).toBe('wss://dash.test/ws/metrics?time_range=24h')
    expect(r.resyncs).toEqual([{ reason: 'new_session', from: 4, to: null, missed: null }])
    f.last().send({ type: 'metrics_update', data: { round: 4 } })
    await expect.poll(() => r.events.map((e) => [e.data, e.seq])).toEqual([
      [{ round: 1 }, 1],
      [{ round: 2 }, 2],
      [{ round: 3 }, 3],
      [{ round: 4 }, 4],
    ])
  })

  it('a feed that never says `connection` is given up after connectTimeout', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const f = feed()
    f.controls.greet = false
    const c = client({ url: URL, protocol: typedUpdatesProtocol(), subscribe: ['metrics_update'], ...FAST })
    await expect.poll(() => f.sockets.length).toBe(1)
    await vi.advanceTimersByTimeAsync(900)
    expect(f.sockets[0]?.open).toBe(true)
    await vi.advanceTimersByTimeAsync(200)
    await expect.poll(() => f.sockets[0]?.open).toBe(false)
    expect(c.status).not.toBe('open')
  })
})
