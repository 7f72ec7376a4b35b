import { describe, expect, it } from 'vitest'
import { Peer, poll, post, seqs, startServer, until } from './helpers.js'

describe('poll GET', () => {
  it('starts a session, then answers at once with everything after `after`', async () => {
    const rt = await startServer()
    const first = await poll(rt, { events: 'alert,incident.*' })
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-control')).toBe('no-store')
    expect(first.body).toEqual({ session: expect.stringMatching(/^s-/), resumed: false, seq: 0, events: [] })
    const { session } = first.body
    rt.publish('alert', { n: 1 })
    rt.publish('host', { n: 2 })
    rt.publish('incident.created', { n: 3 })
    const second = await poll(rt, { session, after: 0, events: 'alert,incident.*' })
    expect(second.body).toMatchObject({ session, resumed: true, seq: 2 })
    expect(second.body.events).toEqual([
      { type: 'event', seq: 1, event: 'alert', data: { n: 1 }, ts: expect.any(Number) },
      { type: 'event', seq: 2, event: 'incident.created', data: { n: 3 }, ts: expect.any(Number) },
    ])
    const third = await poll(rt, { session, after: 2, events: 'alert,incident.*' })
    expect(third.body).toMatchObject({ resumed: true, seq: 2, events: [] })
    expect(rt.stats()).toMatchObject({ polls: 3, messagesSent: 2 })
  })

  it('long poll: holds the request until an event arrives, and batches events published together', async () => {
    const rt = await startServer()
    const { body } = await poll(rt)
    const pending = poll(rt, { session: body.session, after: 0, events: '', wait: 5000 })
    await until(() => rt.stats().heldPolls === 1)
    const started = Date.now()
    rt.publish('a', 1)
    rt.publish('b', 2)
    const answer = await pending
    expect(Date.now() - started).toBeLessThan(500)
    expect(answer.body).toMatchObject({ resumed: true, seq: 2 })
    expect(seqs(answer.body.events)).toEqual([1, 2])
    expect(rt.stats().heldPolls).toBe(0)
  })

  it('long poll: answers empty when `wait` runs out, and caps `wait` at longPollMax', async () => {
    const rt = await startServer({ longPollMax: 60 })
    const { body } = await poll(rt)
    const started = Date.now()
    const answer = await poll(rt, { session: body.session, after: 0, wait: 60_000 })
    const took = Date.now() - started
    expect(answer.body).toMatchObject({ resumed: true, seq: 0, events: [] })
    expect(took).toBeGreaterThanOrEqual(55)
    expect(took).toBeLessThan(1000)
  })

  it('a newer poll of the same session answers the held one at once', async () => {
    const rt = await startServer()
    const { body } = await poll(rt)
    const older = poll(rt, { session: body.session, after: 0, wait: 5000 })
    await until(() => rt.stats().heldPolls === 1)
    const newer = poll(rt, { session: body.session, after: 0, wait: 5000 })
    expect((await older).body).toMatchObject({ resumed: true, events: [] })
    await until(() => rt.stats().heldPolls === 1)
    rt.publish('a', null)
    expect(seqs((await newer).body.events)).toEqual([1])
  })

  it('a known session whose buffer no longer covers `after` starts afresh in the same session', async () => {
    const rt = await startServer({ replayBuffer: 2 })
    const { body } = await poll(rt)
    for (let i = 0; i < 5; i++) rt.publish('a', i)
    const answer = await poll(rt, { session: body.session, after: 1, wait: 1000 })
    expect(answer.body).toEqual({ session: body.session, resumed: false, seq: 5, events: [] })
    const next = await poll(rt, { session: body.session, after: 5 })
    expect(next.body).toMatchObject({ resumed: true, seq: 5, events: [] })
  })

  it('refuses malformed numbers with 400 and other methods with 405', async () => {
    const rt = await startServer()
    expect((await poll(rt, { after: '-1' })).status).toBe(400)
    expect((await poll(rt, { after: 'x' })).status).toBe(400)
    expect((await poll(rt, { wait: '1.5' })).status).toBe(400)
    const res = await fetch(rt.pollUrl, { method: 'PUT' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, POST')
  })

  it('keeps poll answers under maxPollBytes; the rest comes with the next poll', async () => {
    const rt = await startServer({ maxPollBytes: 1000 })
    const { body } = await poll(rt)
    for (let i = 0; i < 5; i++) rt.publish('a', 'x'.repeat(300))
    const first = await poll(rt, { session: body.session, after: 0 })
    expect(seqs(first.body.events)).toEqual([1, 2])
    expect(first.body.seq).toBe(5)
    const second = await poll(rt, { session: body.session, after: 2 })
    expect(seqs(second.body.events)).toEqual([3, 4])
  })
})

describe('poll POST', () => {
  it('carries subscribe/unsubscribe: 204, and the session follows them', async () => {
    const rt = await startServer()
    const { body } = await poll(rt)
    const session = body.session
    expect(await post(rt, { session, messages: [{ type: 'subscribe', events: ['a', 'b'] }, { type: 'unsubscribe', events: ['b'] }, { type: 'from-the-future' }] })).toBe(204)
    rt.publish('b', null)
    rt.publish('a', null)
    const next = await poll(rt, { session, after: 0 })
    expect(next.body.events.map((e: { event: string }) => e.event)).toEqual(['a'])
    expect(rt.stats().posts).toBe(1)
  })

  it('answers 404 for an unknown session, 400 for a malformed body, 413 for a body over maxMessageBytes', async () => {
    const rt = await startServer({ maxMessageBytes: 256 })
    expect(await post(rt, { session: 's-unknown', messages: [] })).toBe(404)
    expect(await post(rt, 'not json')).toBe(400)
    expect(await post(rt, { session: 1, messages: [] })).toBe(400)
    const { body } = await poll(rt)
    expect(await post(rt, { session: body.session, messages: [{ type: 'ack', seq: 'x' }] })).toBe(400)
    expect(await post(rt, { session: body.session, messages: [{ type: 'subscribe', events: ['x'.repeat(300)] }] })).toBe(413)
  })
})

describe('moving between WebSocket and polling', () => {
  it('keeps one session and one seq: nothing lost, nothing repeated', async () => {
    const rt = await startServer()
    const got: number[] = []
    let n = 0
    const publish = (k: number): void => {
      for (let i = 0; i < k; i++) rt.publish('tick', ++n)
    }

    // WebSocket first
    const { peer, welcome } = await Peer.connect(rt.url)
    const session = welcome.session
    publish(3)
    got.push(...seqs(await peer.events(3)))
    publish(2) // published while the socket dies: never read by this client
    peer.ws.terminate()
    await peer.closed

    // then polling, resuming from the last seq delivered
    let last = got[got.length - 1] as number
    const p1 = await poll(rt, { session, after: last, events: '' })
    expect(p1.body).toMatchObject({ session, resumed: true })
    got.push(...seqs(p1.body.events))
    last = p1.body.seq
    const held = poll(rt, { session, after: last, events: '', wait: 5000 })
    await until(() => rt.stats().heldPolls === 1)
    publish(2)
    const p2 = await held
    got.push(...seqs(p2.body.events))
    last = got[got.length - 1] as number
    publish(1) // between polls

    // and back to WebSocket
    const again = await Peer.open(rt.url)
    const w = await again.hello({ session, after: last })
    expect(w).toMatchObject({ session, resumed: true, seq: 8 })
    got.push(...seqs(await again.events(1)))
    publish(2)
    got.push(...seqs(await again.events(2)))

    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(await again.quiet('event')).toEqual([])
  })

  it('a held poll and a socket of the same session both get its events (the client drops the duplicate)', async () => {
    const rt = await startServer()
    const { peer, welcome } = await Peer.connect(rt.url)
    const held = poll(rt, { session: welcome.session, after: 0, wait: 5000 })
    await until(() => rt.stats().heldPolls === 1)
    rt.publish('a', null)
    expect(seqs((await held).body.events)).toEqual([1])
    expect((await peer.take('event')).seq).toBe(1)
  })
})
