/**
 * The client on `notifyProtocol` against a mocked HTMX-style app: bare notifications on the
 * socket, the state at `pollUrl` over HTTP (msw `http` handlers), fetched at most once per second,
 * and every 60 s while the socket cannot be opened.
 */
import { HttpResponse, http } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { notifyProtocol } from '../../src/protocols/index.js'
import { FAST, mockServer, setupProtocolFlows } from './msw-harness.js'
import { record } from './record.js'

const URL = 'wss://app.test/ws'
const POLL_URL = 'https://app.test/dashboard/stats'
const { server, client } = setupProtocolFlows()

/** The app: a socket that only notifies (or refuses every socket), and the state over HTTP. */
function app({ refuse = false, body = (n: number): string | object => ({ orders: n }) } = {}) {
  const state = { orders: 0 }
  /** When each GET came, ms since the epoch (fake time), and its Authorization header. */
  const gets: { at: number; authorization: string | null }[] = []
  const mock = mockServer(`${URL}*`, { onSocket: (socket) => refuse && socket.close(1011, 'unavailable') })
  server.use(
    mock.handler,
    http.get(POLL_URL, ({ request }) => {
      gets.push({ at: Date.now(), authorization: request.headers.get('authorization') })
      const b = body(state.orders)
      return typeof b === 'string' ? HttpResponse.html(b) : HttpResponse.json(b)
    }),
  )
  return {
    ...mock,
    gets,
    /** An order came in: change the state and notify every open socket. */
    order() {
      state.orders++
      for (const s of mock.sockets) if (s.open) s.send('changed')
    },
  }
}

describe('notifyProtocol against an app that notifies', () => {
  it('fetches the state as the link comes up; a burst of notices then costs one fetch, a second after that one, with the last state', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const a = app()
    const c = client({ url: URL, pollUrl: POLL_URL, protocol: notifyProtocol(), subscribe: ['changed'] })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    await expect.poll(() => r.events).toHaveLength(1)
    const start = a.gets[0]!.at
    for (let i = 0; i < 10; i++) {
      a.order()
      await vi.advanceTimersByTimeAsync(50)
    }
    expect(a.gets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(start + 990 - Date.now())
    expect(a.gets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(20)
    await expect.poll(() => r.events).toHaveLength(2)
    expect(a.gets).toHaveLength(2)
    expect(r.events.map((e) => [e.event, e.data, e.seq])).toEqual([
      ['changed', { orders: 0 }, 1],
      ['changed', { orders: 10 }, 2],
    ])
    // nothing more after the burst
    await vi.advanceTimersByTimeAsync(5_000)
    expect(a.gets).toHaveLength(2)
    // a later notice is fetched at once
    a.order()
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([{ orders: 0 }, { orders: 10 }, { orders: 11 }])
    expect(a.gets).toHaveLength(3)
    expect(a.last().received).toEqual([])
    expect(r.errors).toEqual([])
  })

  it('an HTML fragment arrives as text, under the event name chosen', async () => {
    const a = app({ body: (n) => `<section id="stats"><p>Orders: ${n}</p></section>` })
    const c = client({ url: URL, pollUrl: POLL_URL, protocol: notifyProtocol({ event: 'stats' }), subscribe: ['stats'] })
    const fragments: string[] = []
    c.on('stats', (html) => fragments.push(html as string))
    await expect.poll(() => fragments).toEqual(['<section id="stats"><p>Orders: 0</p></section>'])
    await vi.waitFor(() => expect(a.gets).toHaveLength(1))
    // the next fetch may start a second after the first
    await new Promise((resolve) => setTimeout(resolve, 1000))
    a.order()
    await expect.poll(() => fragments).toEqual(['<section id="stats"><p>Orders: 0</p></section>', '<section id="stats"><p>Orders: 1</p></section>'])
  })

  it('fetches the state again after a reconnect, which is a resync (notices were missed)', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const a = app()
    const c = client({ url: URL, pollUrl: POLL_URL, protocol: notifyProtocol(), subscribe: ['changed'], ...FAST })
    const r = record(c)
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([{ orders: 0 }])
    expect(a.gets).toHaveLength(1)
    // an order while the link is down: no notice reaches the client
    a.last().close(1012, 'restart')
    a.order()
    await expect.poll(() => a.sockets.length).toBe(2)
    // the second fetch within refetchInterval of the first waits for it
    await vi.advanceTimersByTimeAsync(1000)
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([{ orders: 0 }, { orders: 1 }])
    expect(r.resyncs).toEqual([{ reason: 'new_session', from: 2, to: null, missed: null }])
    expect(c.stats.sequenced).toBe(false)
  })

  it('with auth: the token in the socket URL and as a Bearer header of each fetch', async () => {
    const a = app()
    const c = client({ url: URL, pollUrl: POLL_URL, protocol: notifyProtocol(), subscribe: ['changed'], auth: { getToken: () => ({ token: 's3cret' }) } })
    await expect.poll(() => c.status).toBe('open')
    expect(a.last().url).toBe('wss://app.test/ws?token=s3cret')
    await expect.poll(() => a.gets).toHaveLength(1)
    expect(a.gets[0]?.authorization).toBe('Bearer s3cret')
  })

  it('keeps a silent socket: the app may say nothing for minutes', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const a = app()
    const c = client({ url: URL, pollUrl: POLL_URL, protocol: notifyProtocol(), subscribe: ['changed'] })
    await expect.poll(() => c.status).toBe('open')
    await vi.advanceTimersByTimeAsync(5 * 60_000)
    expect(a.sockets).toHaveLength(1)
    expect(a.last().open).toBe(true)
    expect(c.status).toBe('open')
  })

  it('falls back to fetching the state every 60 s when the socket cannot be opened', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    const a = app({ refuse: true })
    const c = client({ url: URL, pollUrl: POLL_URL, protocol: notifyProtocol(), subscribe: ['changed'], ...FAST, polling: { upgradeInterval: 10 * 60_000 } })
    const r = record(c)
    await expect.poll(() => c.status).toBe('polling')
    expect(a.sockets).toHaveLength(FAST.reconnect.maxAttempts)
    await expect.poll(() => a.gets).toHaveLength(1)
    const first = a.gets[0]?.at as number
    a.order()
    await vi.advanceTimersByTimeAsync(first + 59_900 - Date.now())
    expect(a.gets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(200)
    await expect.poll(() => a.gets).toHaveLength(2)
    a.order()
    await vi.advanceTimersByTimeAsync(60_000)
    await expect.poll(() => a.gets).toHaveLength(3)
    await expect.poll(() => r.events.map((e) => e.data)).toEqual([{ orders: 0 }, { orders: 1 }, { orders: 2 }])
    expect(a.gets.map((g) => Math.round((g.at - first) / 1000))).toEqual([0, 60, 120])
    expect(c.stats.transport).toBe('polling')
  })
})
