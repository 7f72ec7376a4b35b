import { describe, expect, it } from 'vitest'
import { Peer, startServer } from './helpers.js'

describe('invalid client frames', () => {
  it('answers each with a bad_request error, and closes with 4400 on the third', async () => {
    const rt = await startServer()
    const { peer } = await Peer.connect(rt.url)
    peer.send('not json')
    expect(await peer.take('error')).toEqual({ type: 'error', code: 'bad_request', message: 'frame is not valid JSON' })
    peer.send({ type: 'subscribe', events: 'alert' })
    expect(await peer.take('error')).toMatchObject({ code: 'bad_request', message: expect.stringContaining('"events"') })
    expect(peer.closeInfo).toBeUndefined()
    peer.send('[1,2]')
    expect(await peer.take('error')).toMatchObject({ code: 'bad_request' })
    expect(await peer.closed).toEqual({ code: 4400, reason: 'too many invalid frames' })
    expect(rt.stats().badRequests).toBe(3)
  })

  it('ignores unknown types and unknown fields; rejects binary frames', async () => {
    const rt = await startServer()
    const { peer } = await Peer.connect(rt.url)
    peer.send({ type: 'future-thing', x: 1 })
    peer.send({ type: 'ping', id: 1, extra: true })
    expect(await peer.take()).toEqual({ type: 'pong', id: 1 })
    peer.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    expect(await peer.take()).toMatchObject({ type: 'error', message: 'binary frames are not supported' })
  })

  it('wants hello first, and only once', async () => {
    const rt = await startServer()
    const peer = await Peer.open(rt.url)
    peer.send({ type: 'subscribe', events: ['a'] })
    expect(await peer.take('error')).toMatchObject({ code: 'bad_request', message: '"hello" must come first' })
    await peer.hello()
    peer.send({ type: 'hello', v: 1, session: null, after: null, events: [] })
    expect(await peer.take('error')).toMatchObject({ code: 'bad_request', message: expect.stringContaining('already') })
    expect(peer.pending('welcome')).toEqual([])
  })

  it('closes a socket that sends no hello in time with 4400', async () => {
    const rt = await startServer({ helloTimeout: 50 })
    const peer = await Peer.open(rt.url)
    expect(await peer.closed).toEqual({ code: 4400, reason: 'no hello' })
  })

  it('closes on a frame larger than maxMessageBytes (1009)', async () => {
    const rt = await startServer({ maxMessageBytes: 1024 })
    const { peer } = await Peer.connect(rt.url)
    peer.send({ type: 'subscribe', events: ['x'.repeat(2000)] })
    expect((await peer.closed).code).toBe(1009)
  })
})
