/**
 * The client gives each guarantee only where the protocol's wire allows it (`capabilities`), and
 * says so. These flows run the client against a scripted server speaking a small test protocol
 * whose capabilities each test chooses: no seq, no `hello`, a server that speaks first, no ping,
 * no server-side filtering, a token in the URL, notices that ask for a refetch over HTTP.
 */
import { describe, expect, it, vi } from 'vitest'
import type { RealtimeError } from '../../src/errors.js'
import { RealtimeClient } from '../../src/index.js'
import type { Capabilities, Inbound, Outbound, Protocol } from '../../src/protocol/types.js'
import type { ClientOptions, EventMeta, ResyncInfo, Status } from '../../src/types.js'
import { type ScriptedServer, type ScriptedSocket, scriptedServer, useScriptedClients } from './scripted-socket.js'

const clients = useScriptedClients<RealtimeClient>()
const RECONNECT = { minDelay: 100, maxDelay: 800, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 1000 }

/**
 * The test protocol. Server frames: `{k:'ev', name, data}` (an event, no seq), `{k:'hi'}` (the
 * greeting of a server that speaks first), `{k:'ping', id}`, `{k:'pong', id}`, `{k:'changed'}`,
 * `{k:'keepalive'}`. Client frames: `{op:'sub', all}` (the whole set of patterns, on every change),
 * `{op:'ping', id}`, `{op:'pong', id}`; there is no `hello`, `refresh`, `ack`, `replay` or `auth`.
 */
function testProtocol(caps: Partial<Capabilities>, extra: Partial<Protocol> = {}): Protocol {
  const capabilities: Capabilities = { seq: false, handshake: 'none', ping: false, filter: false, ...caps }
  return {
    name: 'test',
    capabilities,
    decode(frame: string): Inbound | null {
      const m = JSON.parse(frame) as { k: string; name?: string; data?: unknown; id?: number }
      if (m.k === 'ev') return { type: 'event', event: String(m.name), data: m.data }
      if (m.k === 'hi') return { type: 'welcome', session: 'server-named', resumed: false, seq: 0 }
      if (m.k === 'ping' || m.k === 'pong') return { type: m.k, id: Number(m.id) }
      if (m.k === 'changed') return { type: 'changed' }
      return null
    },
    encode(m: Outbound): string | null {
      if (m.type === 'subscribe' || m.type === 'unsubscribe') return JSON.stringify({ op: 'sub', all: m.all })
      if ((m.type === 'ping' && capabilities.ping) || m.type === 'pong') return JSON.stringify({ op: m.type, id: m.id })
      return null
    },
    ...extra,
  }
}

/** A server that accepts every socket a microtask later. */
function accepting(): ScriptedServer {
  const server = scriptedServer()
  server.onSocket = (s) => queueMicrotask(() => s.readyState === 0 && s.open())
  return server
}

const ev = (name: string, data: unknown = null) => ({ k: 'ev', name, data })

function start(server: ScriptedServer, protocol: Protocol, options: Partial<ClientOptions> = {}) {
  const c = new RealtimeClient({
    url: 'wss://api.test/ws',
    WebSocket: server.WebSocket,
    dedupe: false,
    reconnect: RECONNECT,
    heartbeat: { interval: 0 },
    protocol,
    subscribe: ['*'],
    ...options,
  })
  clients.push(c)
  const got: [string, unknown, EventMeta][] = []
  const resyncs: ResyncInfo[] = []
  const errors: RealtimeError[] = []
  const statuses: Status[] = []
  c.on('*', (data, meta) => got.push([meta.event, data, meta]))
  c.on('resync', (r) => resyncs.push(r))
  c.on('error', (e) => errors.push(e))
  c.on('status', (s) => statuses.push(s))
  const seqs = () => got.map(([, , meta]) => meta.seq)
  const names = () => got.map(([name]) => name)
  return { c, got, resyncs, errors, statuses, seqs, names }
}

const socket = (server: ScriptedServer, n: number): ScriptedSocket => {
  const s = server.sockets[n]
  if (!s) throw new Error(`no socket ${n}`)
  return s
}

describe('a protocol without seq', () => {
  it('delivers in arrival order, counting events in meta.seq, and says it is not sequenced', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}))
    await vi.advanceTimersByTimeAsync(0)
    expect(t.c.status).toBe('open')
    socket(server, 0).frame(ev('alert', { id: 'a' }))
    socket(server, 0).frame(ev('host', { id: 'h' }))
    expect(t.got).toEqual([
      ['alert', { id: 'a' }, { seq: 1, event: 'alert', ts: undefined }],
      ['host', { id: 'h' }, { seq: 2, event: 'host', ts: undefined }],
    ])
    expect(t.c.stats).toMatchObject({ sequenced: false, messages: 2, duplicates: 0, gaps: 0, replayed: 0, resyncs: 0, transport: 'websocket' })
    expect(t.resyncs).toEqual([])
    expect(t.errors).toEqual([])
  })

  it('reports every reconnect as a resync of unknown size, and keeps counting', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}))
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame(ev('alert'))
    socket(server, 0).frame(ev('alert'))
    socket(server, 0).serverClose(1006)
    // the 100 ms backoff step, and the socket library's own 0 ms wait before each socket
    await vi.advanceTimersByTimeAsync(102)
    expect(server.sockets).toHaveLength(2)
    expect(t.c.status).toBe('open')
    expect(t.resyncs).toEqual([{ reason: 'new_session', from: 3, to: null, missed: null }])
    socket(server, 1).frame(ev('alert'))
    expect(t.seqs()).toEqual([1, 2, 3])
    expect(t.c.stats).toMatchObject({ resyncs: 1, reconnects: 1, messages: 3 })
    expect(t.statuses).toEqual(['open', 'reconnecting', 'open'])
  })

  it('never sends what the server has no message for (hello, refresh, ack, replay)', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}))
    await vi.advanceTimersByTimeAsync(0)
    t.c.refresh()
    socket(server, 0).frame(ev('alert'))
    expect(socket(server, 0).messages()).toEqual([{ op: 'sub', all: ['*'] }])
    expect(t.errors).toEqual([])
  })
})

describe('handshake', () => {
  it("'none': open when the socket opens; the patterns go in one subscribe, then each change with the whole set", async () => {
    const server = accepting()
    const t = start(server, testProtocol({}), { subscribe: ['alert', 'host'] })
    await vi.advanceTimersByTimeAsync(0)
    expect(t.c.status).toBe('open')
    const off = t.c.subscribe(['incident.*'])
    off()
    expect(socket(server, 0).messages()).toEqual([
      { op: 'sub', all: ['alert', 'host'] },
      { op: 'sub', all: ['alert', 'host', 'incident.*'] },
      { op: 'sub', all: ['alert', 'host'] },
    ])
  })

  it("'none': a server that closes each socket with 4001 before a word is refused three times, on the backoff schedule, then given up", async () => {
    const server = scriptedServer()
    server.onSocket = (s) =>
      queueMicrotask(() => {
        s.open()
        queueMicrotask(() => s.serverClose(4001, 'bad token'))
      })
    const t = start(server, testProtocol({}))
    await vi.advanceTimersByTimeAsync(2000)
    expect(server.sockets).toHaveLength(3)
    expect(t.c.status).toBe('closed')
    expect(t.errors.map((e) => e.code)).toEqual(['unauthorized'])
  })

  it("'none': a socket that said a word was accepted: a 4001 later starts the count again", async () => {
    const server = accepting()
    const t = start(server, testProtocol({}))
    for (let i = 0; i < 4; i++) {
      // the longest backoff step is 800 ms
      await vi.advanceTimersByTimeAsync(1000)
      server.last!.frame(ev('alert'))
      server.last!.serverClose(4001, 'expired')
    }
    await vi.advanceTimersByTimeAsync(1000)
    expect(server.sockets).toHaveLength(5)
    expect(t.c.status).toBe('open')
    expect(t.errors).toEqual([])
  })

  it("'server': waits for the server's greeting; an event before it is dropped with an error", async () => {
    const server = accepting()
    const t = start(server, testProtocol({ handshake: 'server' }))
    await vi.advanceTimersByTimeAsync(0)
    expect(t.c.status).toBe('connecting')
    socket(server, 0).frame(ev('alert'))
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['invalid_message', 'event "alert" arrived before welcome; dropped']])
    socket(server, 0).frame({ k: 'hi' })
    expect(t.c.status).toBe('open')
    socket(server, 0).frame(ev('alert'))
    expect(t.seqs()).toEqual([1])
    expect(socket(server, 0).messages()).toEqual([{ op: 'sub', all: ['*'] }])
  })

  it("'server': a server that never greets is given up after connectTimeout", async () => {
    const server = accepting()
    const t = start(server, testProtocol({ handshake: 'server' }))
    await vi.advanceTimersByTimeAsync(999)
    expect(server.sockets).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1 + 100 + 1)
    expect(socket(server, 0).closedWith).toEqual([4000, 'no welcome'])
    expect(server.sockets).toHaveLength(2)
    expect(t.c.status).toBe('reconnecting')
  })
})

describe('a server that does not filter', () => {
  it('the client delivers only the events its patterns match, and counts only those', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}), { subscribe: ['alert', 'incident.*'] })
    await vi.advanceTimersByTimeAsync(0)
    for (const name of ['alert', 'host', 'incident.created', 'incident', 'metrics']) socket(server, 0).frame(ev(name))
    expect(t.names()).toEqual(['alert', 'incident.created'])
    expect(t.seqs()).toEqual([1, 2])
    expect(t.c.stats.messages).toBe(2)
  })

  it('with no pattern at all, no event', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}), { subscribe: [] })
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame(ev('alert'))
    expect(t.got).toEqual([])
  })

  it('a filtering server is trusted: what it sends is delivered', async () => {
    const server = accepting()
    const t = start(server, testProtocol({ filter: true }), { subscribe: ['alert'] })
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame(ev('host'))
    expect(t.names()).toEqual(['host'])
  })
})

describe('heartbeat without ping', () => {
  it('listens only: no frame for interval + timeout means a dead link; any frame, even one it ignores, keeps it alive', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}), { heartbeat: { interval: 3000, timeout: 2000 } })
    await vi.advanceTimersByTimeAsync(0)
    await vi.advanceTimersByTimeAsync(4000)
    socket(server, 0).frame({ k: 'keepalive' })
    await vi.advanceTimersByTimeAsync(4999)
    expect(t.c.status).toBe('open')
    await vi.advanceTimersByTimeAsync(1)
    expect(socket(server, 0).closedWith).toEqual([4000, 'heartbeat timeout'])
    expect(socket(server, 0).messages().filter((m) => m.op === 'ping')).toEqual([])
    await vi.advanceTimersByTimeAsync(101)
    expect(server.sockets).toHaveLength(2)
    expect(t.c.status).toBe('open')
    expect(t.c.stats.rtt).toBeNull()
  })

  it('with ping: pings, and the pong gives the round trip', async () => {
    const server = accepting()
    server.onSend = (s, m) => m.op === 'ping' && queueMicrotask(() => s.frame({ k: 'pong', id: m.id }))
    const t = start(server, testProtocol({ ping: true }), { heartbeat: { interval: 3000, timeout: 2000 } })
    await vi.advanceTimersByTimeAsync(3000)
    expect(socket(server, 0).messages().filter((m) => m.op === 'ping')).toEqual([{ op: 'ping', id: 1 }])
    expect(t.c.stats.rtt).toBe(0)
  })

  it("answers the server's ping with the protocol's pong", async () => {
    const server = accepting()
    start(server, testProtocol({}))
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame({ k: 'ping', id: 9 })
    expect(socket(server, 0).messages().at(-1)).toEqual({ op: 'pong', id: 9 })
  })
})

describe('socketUrl', () => {
  it("opens the URL the protocol makes, with auth's token in it", async () => {
    const server = accepting()
    let n = 0
    const protocol = testProtocol({}, { socketUrl: (url, { token }) => `${url}?jwt=${token}` })
    start(server, protocol, { auth: { getToken: async () => ({ token: `t${++n}` }) } })
    await vi.advanceTimersByTimeAsync(0)
    expect(socket(server, 0).url).toBe('wss://api.test/ws?jwt=t1')
  })
})

describe('notices that ask for a refetch', () => {
  /** A fetch that answers each GET with the state `{ n }`, n counting the requests. */
  function stateEndpoint() {
    const urls: string[] = []
    const fetch = vi.fn(async (input: RequestInfo | URL) => {
      urls.push(String(input))
      return new Response(JSON.stringify({ n: urls.length }), { headers: { 'content-type': 'application/json' } })
    })
    return { urls, fetch: fetch as unknown as typeof globalThis.fetch }
  }

  /** The request, and its answer, are a few promises away. */
  const settled = (): Promise<unknown> => vi.advanceTimersByTimeAsync(0)

  const http: Protocol['http'] = {
    pollUrl: (base) => base,
    decodePoll: (body) => ({ ok: true, value: { events: [{ type: 'event', event: 'state', data: JSON.parse(body) as unknown }] } }),
  }

  it('fetches at once, then at most once per refetchInterval; a burst ends with one more fetch after the last notice', async () => {
    const server = accepting()
    const api = stateEndpoint()
    const t = start(server, testProtocol({}, { http, defaults: { refetchInterval: 1000 } }), { pollUrl: 'https://api.test/state', fetch: api.fetch })
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame({ k: 'changed' })
    await settled()
    expect(api.urls).toEqual(['https://api.test/state'])
    expect(t.got.map(([name, data]) => [name, data])).toEqual([['state', { n: 1 }]])
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(50)
      socket(server, 0).frame({ k: 'changed' })
    }
    // the notices came at 50..500 ms; the next fetch may start 1000 ms after the first
    await vi.advanceTimersByTimeAsync(499)
    expect(api.urls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(api.urls).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(5000)
    expect(api.urls).toHaveLength(2)
    expect(t.got.map(([, data]) => data)).toEqual([{ n: 1 }, { n: 2 }])
    expect(t.seqs()).toEqual([1, 2])
  })

  it('refresh() refetches when the server has no refresh message', async () => {
    const server = accepting()
    const api = stateEndpoint()
    const t = start(server, testProtocol({}, { http }), { pollUrl: 'https://api.test/state', fetch: api.fetch })
    await vi.advanceTimersByTimeAsync(0)
    t.c.refresh()
    await settled()
    expect(api.urls).toEqual(['https://api.test/state'])
    expect(t.got.map(([, data]) => data)).toEqual([{ n: 1 }])
  })

  it('a failed refetch is an error, and the next notice fetches again', async () => {
    const server = accepting()
    let fail = true
    const fetch = (async () => (fail ? new Response('no', { status: 502 }) : new Response('{"n":7}'))) as unknown as typeof globalThis.fetch
    const t = start(server, testProtocol({}, { http }), { pollUrl: 'https://api.test/state', fetch })
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame({ k: 'changed' })
    await settled()
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['transport', 'poll answered HTTP 502']])
    fail = false
    await vi.advanceTimersByTimeAsync(1000)
    socket(server, 0).frame({ k: 'changed' })
    await vi.advanceTimersByTimeAsync(0)
    expect(t.got.map(([, data]) => data)).toEqual([{ n: 7 }])
  })

  it("falls back to polling at the protocol's interval when sockets fail, each answer delivered in order", async () => {
    const server = scriptedServer()
    server.onSocket = (s) => queueMicrotask(() => s.serverClose(1006))
    const api = stateEndpoint()
    const protocol = testProtocol({}, { http, defaults: { polling: { interval: 60_000 } } })
    const t = start(server, protocol, { pollUrl: 'https://api.test/state', fetch: api.fetch, reconnect: { ...RECONNECT, maxAttempts: 1 } })
    await vi.advanceTimersByTimeAsync(1)
    expect(t.c.status).toBe('polling')
    expect(api.urls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(59_999)
    expect(api.urls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(api.urls).toHaveLength(2)
    expect(t.got.map(([, data, meta]) => [data, meta.seq])).toEqual([
      [{ n: 1 }, 1],
      [{ n: 2 }, 2],
    ])
    expect(t.c.stats).toMatchObject({ transport: 'polling', sequenced: false, resyncs: 0 })
  })

  it('without a pollUrl, a notice is an error saying so', async () => {
    const server = accepting()
    const t = start(server, testProtocol({}, { http }))
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame({ k: 'changed' })
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['config', 'the server announced a change, but no pollUrl is set to fetch it']])
  })

  it('close() cancels a pending refetch: no request, no timer left', async () => {
    const server = accepting()
    const api = stateEndpoint()
    const t = start(server, testProtocol({}, { http }), { pollUrl: 'https://api.test/state', fetch: api.fetch })
    await vi.advanceTimersByTimeAsync(0)
    socket(server, 0).frame({ k: 'changed' })
    await settled()
    await vi.advanceTimersByTimeAsync(10)
    socket(server, 0).frame({ k: 'changed' })
    t.c.close()
    await vi.advanceTimersByTimeAsync(2000)
    expect(api.urls).toHaveLength(1)
  })
})
