import { describe, expect, it } from 'vitest'
import { Peer, startServer, until } from './helpers.js'

describe('heartbeat', () => {
  it('answers ping with a pong of the same id (number or string), even before hello', async () => {
    const rt = await startServer()
    const peer = await Peer.open(rt.url)
    peer.send({ type: 'ping', id: 7 })
    expect(await peer.take()).toEqual({ type: 'pong', id: 7 })
    await peer.hello()
    peer.send({ type: 'ping', id: 'x' })
    expect(await peer.take('pong')).toEqual({ type: 'pong', id: 'x' })
  })

  it('pings a quiet client, and a client that answers stays connected', async () => {
    const rt = await startServer({ heartbeat: 40 })
    const { peer } = await Peer.connect(rt.url)
    peer.ws.on('message', (data) => {
      const m = JSON.parse(String(data))
      if (m.type === 'ping') peer.send({ type: 'pong', id: m.id })
    })
    const ping = await peer.take('ping', 500)
    expect(ping.id).toEqual(expect.any(Number))
    await new Promise((r) => setTimeout(r, 200)) // five intervals
    expect(peer.closeInfo).toBeUndefined()
    expect(peer.pending('ping').length).toBeGreaterThan(0)
  })

  it('terminates a socket that sends nothing for two intervals', async () => {
    const rt = await startServer({ heartbeat: 40 })
    const peer = await Peer.open(rt.url)
    const started = Date.now() // the hello below is the last frame the server gets
    await peer.hello()
    const closed = await peer.closed
    const after = Date.now() - started
    expect(closed.code).toBe(1006) // cut, no close handshake: what a half-open link gets
    expect(after).toBeGreaterThanOrEqual(79)
    expect(after).toBeLessThan(400)
    expect(peer.pending('ping').length).toBeGreaterThan(0)
    await until(() => rt.stats().connections === 0)
    expect(rt.stats().heartbeatTimeouts).toBe(1)
  })

  it('setSilent: says nothing and ignores what arrives (half-open), then recovers without loss', async () => {
    const rt = await startServer()
    const { peer, welcome } = await Peer.connect(rt.url)
    rt.setSilent(true)
    peer.send({ type: 'ping', id: 1 })
    rt.publish('alert', { n: 1 })
    expect(await peer.quiet('pong', 80)).toEqual([])
    expect(peer.pending('event')).toEqual([])
    peer.ws.terminate() // the client gives up on the link
    rt.setSilent(false)
    const { peer: back, welcome: w } = await Peer.connect(rt.url, { session: welcome.session, after: 0 })
    expect(w).toMatchObject({ resumed: true, seq: 1 })
    expect(await back.take('event')).toMatchObject({ seq: 1, data: { n: 1 } })
  })
})
