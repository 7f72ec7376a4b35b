import { describe, expect, it } from 'vitest'
import { Peer, seqs, startServer } from './helpers.js'

describe('hello and welcome', () => {
  it('starts a new session: resumed false, seq 0, heartbeat announced', async () => {
    const rt = await startServer({ heartbeat: 5000 })
    const { welcome } = await Peer.connect(rt.url)
    expect(welcome).toMatchObject({ type: 'welcome', v: 1, resumed: false, seq: 0, heartbeat: 5000 })
    expect(welcome.session).toMatch(/^s-[\w-]{20,}$/)
  })

  it('numbers events per session, each exactly one more than the last', async () => {
    const rt = await startServer()
    const { peer: a } = await Peer.connect(rt.url)
    rt.publish('alert', { n: 1 })
    const { peer: b } = await Peer.connect(rt.url)
    rt.publish('alert', { n: 2 })
    rt.publish('alert', { n: 3 })
    expect(seqs(await a.events(3))).toEqual([1, 2, 3])
    const got = await b.events(2)
    expect(got.map((e) => [e.seq, e.data.n])).toEqual([[1, 2], [2, 3]])
    expect(got[0]).toMatchObject({ type: 'event', event: 'alert', ts: expect.any(Number) })
    expect(got[0]).not.toHaveProperty('ack')
  })

  it('resumes a known session and replays what followed `after`', async () => {
    const rt = await startServer()
    const { peer, welcome } = await Peer.connect(rt.url)
    for (let i = 1; i <= 5; i++) rt.publish('alert', { i })
    await peer.events(2) // the client delivered up to 2, then lost the link
    peer.ws.terminate()
    await peer.closed
    rt.publish('alert', { i: 6 })

    const again = await Peer.open(rt.url)
    const w2 = await again.hello({ session: welcome.session, after: 2 })
    expect(w2).toMatchObject({ resumed: true, session: welcome.session, seq: 6 })
    const replayed = await again.events(4)
    expect(replayed.map((e) => [e.seq, e.data.i])).toEqual([[3, 3], [4, 4], [5, 5], [6, 6]])
    // the welcome comes before the replay
    expect(again.frames.map((f) => f.type)).toEqual(['welcome', 'event', 'event', 'event', 'event'])
    rt.publish('alert', { i: 7 })
    expect((await again.take('event')).seq).toBe(7)
  })

  it('treats an unknown or expired session as new (resumed false)', async () => {
    const rt = await startServer({ sessionTtl: 100 })
    const { peer, welcome } = await Peer.connect(rt.url)
    const unknown = await Peer.connect(rt.url, { session: 's-nobody', after: 3 })
    expect(unknown.welcome).toMatchObject({ resumed: false, seq: 0 })
    expect(unknown.welcome.session).not.toBe('s-nobody')

    rt.publish('alert', {})
    await peer.take('event')
    peer.close()
    await peer.closed
    await new Promise((r) => setTimeout(r, 150))
    const expired = await Peer.connect(rt.url, { session: welcome.session, after: 1 })
    expect(expired.welcome).toMatchObject({ resumed: false, seq: 0 })
    expect(expired.welcome.session).not.toBe(welcome.session)
  })

  it('keeps a session alive while its socket is open, however long', async () => {
    const rt = await startServer({ sessionTtl: 60, heartbeat: 1000 })
    const { peer, welcome } = await Peer.connect(rt.url)
    await new Promise((r) => setTimeout(r, 150))
    rt.publish('alert', {})
    expect((await peer.take('event')).seq).toBe(1)
    peer.ws.terminate()
    await peer.closed
    const back = await Peer.connect(rt.url, { session: welcome.session, after: 1 })
    expect(back.welcome).toMatchObject({ resumed: true, session: welcome.session })
  })

  it('an `after` ahead of the session head starts a new session', async () => {
    const rt = await startServer()
    const { peer, welcome } = await Peer.connect(rt.url)
    peer.close()
    await peer.closed
    const { welcome: w2 } = await Peer.connect(rt.url, { session: welcome.session, after: 99 })
    expect(w2).toMatchObject({ resumed: false, seq: 0 })
  })

  it('a newer socket for the same session replaces the older one', async () => {
    const rt = await startServer()
    const { peer: old, welcome } = await Peer.connect(rt.url)
    const { peer: now } = await Peer.connect(rt.url, { session: welcome.session, after: 0 })
    expect((await old.closed).code).toBe(1000)
    rt.publish('alert', {})
    expect((await now.take('event')).seq).toBe(1)
    expect(old.pending('event')).toEqual([])
  })
})

describe('replay', () => {
  it('resumes with replay_failed when the buffer no longer covers `after`', async () => {
    const rt = await startServer({ replayBuffer: 3 })
    const { peer, welcome } = await Peer.connect(rt.url)
    peer.ws.terminate()
    await peer.closed
    for (let i = 1; i <= 5; i++) rt.publish('alert', { i }) // buffer keeps 3..5
    const again = await Peer.open(rt.url)
    const w = await again.hello({ session: welcome.session, after: 1 })
    expect(w).toMatchObject({ resumed: true, seq: 5 })
    expect(await again.take()).toEqual({ type: 'replay_failed', after: 1, seq: 5 })
    expect(await again.quiet('event')).toEqual([])

    // a resume the buffer still covers replays exactly the rest
    again.close()
    await again.closed
    const last = await Peer.open(rt.url)
    expect(await last.hello({ session: welcome.session, after: 2 })).toMatchObject({ resumed: true, seq: 5 })
    expect(seqs(await last.events(3))).toEqual([3, 4, 5])
    expect(rt.stats()).toMatchObject({ replays: 1, replayFailures: 1 })
  })

  it('answers `replay` with the buffered events after `after`, or replay_failed', async () => {
    const rt = await startServer({ replayBuffer: 4 })
    const { peer } = await Peer.connect(rt.url)
    for (let i = 1; i <= 6; i++) rt.publish('alert', { i })
    await peer.events(6)
    peer.send({ type: 'replay', after: 3 })
    expect(seqs(await peer.events(3))).toEqual([4, 5, 6])
    peer.send({ type: 'replay', after: 6 })
    peer.send({ type: 'replay', after: 1 }) // 2 was evicted
    expect(await peer.take()).toEqual({ type: 'replay_failed', after: 1, seq: 6 })
    expect(peer.pending('event')).toEqual([])
  })

  it('bounds the replay buffer in age as well', async () => {
    const rt = await startServer({ replayMaxAge: 50 })
    const { peer, welcome } = await Peer.connect(rt.url)
    rt.publish('alert', {})
    await peer.take('event')
    peer.ws.terminate()
    await peer.closed
    rt.publish('alert', {})
    await new Promise((r) => setTimeout(r, 80))
    const again = await Peer.open(rt.url)
    expect(await again.hello({ session: welcome.session, after: 1 })).toMatchObject({ resumed: true, seq: 2 })
    expect(await again.take()).toEqual({ type: 'replay_failed', after: 1, seq: 2 })
  })
})
