import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createRealtimeServer } from '../../src/server/index.js'
import { Peer, poll, runAlone, startServer, until } from './helpers.js'

describe('close()', () => {
  it('closes sockets with 1001, answers held polls, and refuses what comes later', async () => {
    const rt = createRealtimeServer({ port: 0 })
    await rt.ready
    const { peer } = await Peer.connect(rt.url as string)
    const { body } = await poll({ pollUrl: rt.pollUrl as string })
    const held = poll({ pollUrl: rt.pollUrl as string }, { session: body.session, after: 0, wait: 10_000 })
    await until(() => rt.stats().heldPolls === 1)
    const started = Date.now()
    await rt.close()
    expect(Date.now() - started).toBeLessThan(1500)
    expect((await peer.closed).code).toBe(1001)
    expect((await held).body).toMatchObject({ resumed: true, events: [] })
    expect(rt.publish('a', 1)).toBe(0)
    await rt.close() // idempotent
    await expect(fetch(rt.pollUrl ?? `http://127.0.0.1:1/`)).rejects.toThrow()
  })

  it('leaves nothing running: a process that used the server exits by itself', async () => {
    // Bundle a small script that runs a server with a socket, a long poll and a sweep, then closes
    // it without closing anything else; the process must then exit on its own.
    const script = `
      import { createRealtimeServer } from './src/server/index.ts'
      import WebSocket from 'ws'
      const rt = createRealtimeServer({ port: 0, heartbeat: 50, sessionTtl: 100 })
      await rt.ready
      const ws = new WebSocket(rt.url)
      await new Promise((resolve) => ws.on('open', resolve))
      ws.send(JSON.stringify({ type: 'hello', v: 1, session: null, after: null, events: [] }))
      const welcome = await new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))))
      const first = await (await fetch(rt.pollUrl)).json()
      const held = fetch(rt.pollUrl + '?session=' + first.session + '&after=0&wait=20000').then((r) => r.json())
      while (rt.stats().heldPolls === 0) await new Promise((r) => setTimeout(r, 5))
      rt.publish('a', 1)
      await held
      const held2 = fetch(rt.pollUrl + '?session=' + first.session + '&after=1&wait=20000').then((r) => r.json())
      while (rt.stats().heldPolls === 0) await new Promise((r) => setTimeout(r, 5))
      await rt.close()
      await held2
      console.log('closed ' + welcome.type)
    `
    expect(await runAlone(script)).toEqual({ exit: 0, stdout: 'closed welcome', stderr: '' })
  })
})

describe('attached to an application server', () => {
  it('handles only its paths; other requests and upgrades stay the application\'s', async () => {
    const app = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`app ${req.url}`)
    })
    const otherUpgrades: string[] = []
    app.on('upgrade', (req, socket) => {
      if (req.url !== '/ws/events') {
        otherUpgrades.push(req.url ?? '')
        socket.destroy()
      }
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    const rt = createRealtimeServer({ server: app })
    try {
      await rt.ready
      const base = `http://127.0.0.1:${rt.port}`
      expect(rt.url).toBe(`ws://127.0.0.1:${rt.port}/ws/events`)
      expect(await (await fetch(`${base}/hello`)).text()).toBe('app /hello')
      expect((await fetch(`${base}/api/events`)).status).toBe(200)
      expect((await fetch(`${base}/api/stats`)).status).toBe(200)
      const { welcome } = await Peer.connect(rt.url as string)
      expect(welcome.type).toBe('welcome')
      const other = new WebSocket(`ws://127.0.0.1:${rt.port}/other`)
      await new Promise((resolve) => other.on('error', resolve))
      expect(otherUpgrades).toEqual(['/other'])
    } finally {
      await rt.close()
    }
    // detached: the application gets every path again, and its server keeps running
    expect(app.listening).toBe(true)
    expect(await (await fetch(`http://127.0.0.1:${(app.address() as { port: number }).port}/api/events`)).text()).toBe('app /api/events')
    await new Promise((resolve) => app.close(resolve))
  })
})

describe('test hooks', () => {
  it('dropConnections() cuts every socket (1006), or closes each with a code', async () => {
    const rt = await startServer()
    const { peer: a } = await Peer.connect(rt.url)
    const { peer: b } = await Peer.connect(rt.url)
    rt.dropConnections()
    expect((await a.closed).code).toBe(1006)
    expect((await b.closed).code).toBe(1006)
    const { peer: c } = await Peer.connect(rt.url)
    rt.dropConnections(1012)
    expect((await c.closed).code).toBe(1012)
  })

  it('refuseWebSocket() answers upgrades with 503 until switched back', async () => {
    const rt = await startServer()
    rt.refuseWebSocket(true)
    await expect(Peer.open(rt.url)).rejects.toThrow(/503/)
    expect((await poll(rt)).status).toBe(200)
    rt.refuseWebSocket(false)
    await Peer.connect(rt.url)
  })

})
