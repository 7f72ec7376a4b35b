/**
 * End to end: the real client (`RealtimeClient` from src/index.ts) against the reference server,
 * over real sockets and HTTP on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { RealtimeClient, type ResyncInfo, type Status } from '../../src/index.js'
import { startServer, until } from './helpers.js'

const clients: RealtimeClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

let key = 0
function client(rt: { url: string; pollUrl: string }, extra: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {}) {
  const c = new RealtimeClient({
    url: rt.url,
    pollUrl: rt.pollUrl,
    WebSocket: globalThis.WebSocket,
    fetch: globalThis.fetch,
    dedupeKey: `e2e-${++key}`,
    reconnect: { minDelay: 10, maxDelay: 50, jitter: 0 },
    ...extra,
  })
  clients.push(c)
  const got: { seq: number; n: number }[] = []
  const resyncs: ResyncInfo[] = []
  const errors: Error[] = []
  const statuses: Status[] = []
  c.on('*', (data, meta) => got.push({ seq: meta.seq, n: (data as { n: number }).n }))
  c.on('resync', (info) => resyncs.push(info))
  c.on('error', (e) => errors.push(e))
  c.on('status', (s) => statuses.push(s))
  return { c, got, resyncs, errors, statuses }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('RealtimeClient against the reference server', () => {
  it('gets every published event exactly once, in order, and resumes after dropped connections', async () => {
    const rt = await startServer()
    const { c, got, resyncs, errors } = client(rt, { subscribe: ['tick'] })
    await until(() => c.status === 'open', 2000, 'open')
    let n = 0
    for (let i = 0; i < 50; i++) rt.publish('tick', { n: ++n })
    rt.publish('other', { n: -1 }) // not subscribed
    await until(() => got.length === 50, 2000, '50 events')

    // The link drops; events published meanwhile are replayed on resume.
    rt.dropConnections()
    for (let i = 0; i < 10; i++) rt.publish('tick', { n: ++n })
    await until(() => got.length === 60, 3000, 'the replayed events')
    expect(c.status).toBe('open')
    for (let i = 0; i < 5; i++) rt.publish('tick', { n: ++n })
    await until(() => got.length === 65, 2000, 'live events after the resume')

    // Twice more, with a close code this time.
    rt.dropConnections(1012)
    rt.publish('tick', { n: ++n })
    await until(() => got.length === 66, 3000, 'after 1012')

    expect(got.map((e) => e.n)).toEqual(range(1, 66))
    expect(got.map((e) => e.seq)).toEqual(range(1, 66))
    expect(resyncs).toEqual([])
    expect(errors).toEqual([])
    expect(c.stats).toMatchObject({ messages: 66, duplicates: 0, resyncs: 0, reconnects: 2, transport: 'websocket' })
  })

  it('reports one resync when the server forgot the session (a restart)', async () => {
    const rt = await startServer()
    const { c, got, resyncs } = client(rt)
    await until(() => c.status === 'open', 2000, 'open')
    rt.publish('tick', { n: 1 })
    rt.publish('tick', { n: 2 })
    await until(() => got.length === 2)

    rt.forgetSessions()
    rt.dropConnections()
    await until(() => resyncs.length === 1, 3000, 'a resync')
    await until(() => c.status === 'open')
    rt.publish('tick', { n: 3 })
    await until(() => got.length === 3)
    expect(resyncs).toEqual([{ reason: 'new_session', from: 3, to: null, missed: null }])
    expect(got).toEqual([
      { seq: 1, n: 1 },
      { seq: 2, n: 2 },
      { seq: 1, n: 3 },
    ])
    await new Promise((r) => setTimeout(r, 50))
    expect(resyncs).toHaveLength(1)
  })

  it('falls back to polling when WebSocket is refused, and moves back without loss or repeat', async () => {
    const rt = await startServer()
    rt.refuseWebSocket(true)
    const { c, got, resyncs } = client(rt, {
      reconnect: { minDelay: 10, maxDelay: 20, jitter: 0, maxAttempts: 2 },
      polling: { wait: 2000, interval: 50, upgradeInterval: 150 },
    })
    await until(() => c.status === 'polling', 3000, 'polling')
    await until(() => rt.stats().heldPolls === 1, 2000, 'a long poll')
    let n = 0
    for (let i = 0; i < 5; i++) rt.publish('tick', { n: ++n })
    await until(() => got.length === 5, 3000, 'events over polling')
    expect(c.stats.transport).toBe('polling')

    rt.refuseWebSocket(false)
    await until(() => c.status === 'open', 3000, 'back on WebSocket')
    for (let i = 0; i < 5; i++) rt.publish('tick', { n: ++n })
    await until(() => got.length === 10, 3000, 'events over WebSocket')
    expect(got.map((e) => e.seq)).toEqual(range(1, 10))
    expect(got.map((e) => e.n)).toEqual(range(1, 10))
    expect(resyncs).toEqual([])
    expect(c.stats).toMatchObject({ duplicates: 0, transport: 'websocket' })
  })
})
