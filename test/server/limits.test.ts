import { describe, expect, it } from 'vitest'
import { Peer, poll, seqs, startServer, until } from './helpers.js'

describe('slow consumers', () => {
  it('keeps a consumer that keeps up, whatever the burst', async () => {
    const rt = await startServer({ maxQueue: 10 })
    const { peer } = await Peer.connect(rt.url)
    for (let i = 0; i < 500; i++) rt.publish('tick', i)
    expect(seqs(await peer.events(500))).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
    expect(peer.closeInfo).toBeUndefined()
    expect(rt.stats().slowConsumers).toBe(0)
  })

  it('drops a stalled consumer from live delivery with 4008; it catches up through replay', async () => {
    const rt = await startServer({ maxQueue: 20, replayBuffer: 400 })
    const { peer, welcome } = await Peer.connect(rt.url)
    peer.ws.pause() // stops reading: the kernel buffers fill, then the server's queue
    const payload = 'x'.repeat(64 * 1024)
    let published = 0
    while (rt.stats().slowConsumers === 0 && published < 400) {
      rt.publish('big', payload)
      published++
      if (published % 20 === 0) await new Promise((r) => setImmediate(r))
    }
    expect(rt.stats().slowConsumers).toBe(1)
    expect(published).toBeLessThan(400)
    for (let i = 0; i < 5; i++) rt.publish('big', payload) // still buffered in the session
    published += 5
    // bounded: the server stopped queueing for this socket
    expect(rt.stats().maxQueued).toBeLessThanOrEqual(21)

    peer.ws.resume()
    expect((await peer.closed).code).toBe(4008)
    const live = seqs(peer.frames.filter((f) => f.type === 'event'))
    expect(live).toEqual(Array.from({ length: live.length }, (_, i) => i + 1))
    expect(live.length).toBeLessThan(published)

    const { peer: back, welcome: w } = await Peer.connect(rt.url, { session: welcome.session, after: live.length })
    expect(w).toMatchObject({ resumed: true, seq: published })
    const rest = await back.events(published - live.length, 5000)
    expect([...live, ...seqs(rest)]).toEqual(Array.from({ length: published }, (_, i) => i + 1))
  })
})

describe('replays', () => {
  it('a resume with more to replay than the live-delivery bound is written whole: the healthy client is not cut off', async () => {
    const rt = await startServer({ maxQueue: 20, maxBufferedBytes: 256 * 1024, replayBuffer: 500 })
    const { peer, welcome } = await Peer.connect(rt.url)
    peer.close()
    await peer.closed
    const payload = 'y'.repeat(16 * 1024) // 400 × 16 KiB = 6.4 MiB to replay, far over 256 KiB
    for (let i = 0; i < 400; i++) rt.publish('big', payload)
    const { peer: back, welcome: w } = await Peer.connect(rt.url, { session: welcome.session, after: 0 })
    expect(w).toMatchObject({ resumed: true, seq: 400 })
    expect(seqs(await back.events(400, 10_000))).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
    expect(back.closeInfo).toBeUndefined()
    expect(rt.stats().slowConsumers).toBe(0)
  })
})

describe('maxSessions', () => {
  it('closes a WebSocket that would be one session too many with 4008', async () => {
    const rt = await startServer({ maxSessions: 2 })
    const { peer: a, welcome } = await Peer.connect(rt.url)
    await Peer.connect(rt.url)
    const third = await Peer.open(rt.url)
    third.send({ type: 'hello', v: 1, session: null, after: null, events: [] })
    expect((await third.closed).code).toBe(4008)
    expect(rt.stats()).toMatchObject({ sessions: 2, overCapacity: 1 })
    // resuming an existing session needs no new one
    a.close()
    await a.closed
    const { welcome: w } = await Peer.connect(rt.url, { session: welcome.session, after: 0 })
    expect(w.resumed).toBe(true)
  })

  it('answers a poll that would need one session too many with 503 and Retry-After', async () => {
    const rt = await startServer({ maxSessions: 1 })
    expect((await poll(rt)).status).toBe(200)
    const refused = await poll(rt)
    expect(refused.status).toBe(503)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('makes room once sessions expire', async () => {
    const rt = await startServer({ maxSessions: 1, sessionTtl: 50 })
    expect((await poll(rt)).status).toBe(200)
    expect((await poll(rt)).status).toBe(503)
    await new Promise((r) => setTimeout(r, 80))
    expect((await poll(rt)).status).toBe(200)
    await until(() => rt.stats().sessions === 1)
  })
})

describe('stats endpoint', () => {
  it('serves stats() as JSON at statsPath', async () => {
    const rt = await startServer()
    const { peer } = await Peer.connect(rt.url)
    rt.publish('a', 1)
    await peer.take('event')
    const held = poll(rt, { events: '' })
    await held
    const res = await fetch(`${rt.base}/api/stats`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    const stats = await res.json()
    expect(stats).toEqual(rt.stats())
    expect(stats).toMatchObject({
      connections: 1,
      sessions: 2,
      heldPolls: 0,
      queued: expect.any(Number),
      maxQueued: expect.any(Number),
      published: 1,
      delivered: 1,
      messagesSent: 2, // welcome + event
      polls: 1,
    })
    expect((await fetch(`${rt.base}/api/stats`, { method: 'POST' })).status).toBe(405)
    expect((await fetch(`${rt.base}/elsewhere`)).status).toBe(404)
  })

  it('can be switched off, as can polling', async () => {
    const rt = await startServer({ statsPath: false, pollPath: false })
    expect((await fetch(`${rt.base}/api/stats`)).status).toBe(404)
    expect((await fetch(`${rt.base}/api/events`)).status).toBe(404)
    expect(rt.pollUrl).toBeUndefined()
  })
})
