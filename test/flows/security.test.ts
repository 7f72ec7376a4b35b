/**
 * Hostile or careless surroundings, through the public API: the token in a URL never shows in an
 * error message, a log line or the stats; clear-text URLs are refused on a page served over https
 * unless `allowInsecure`; names and keys from the wire never reach a prototype.
 */
import { inspect } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { RealtimeClient } from '../../src/index.js'
import type { RealtimeError } from '../../src/errors.js'
import type { ClientOptions, EventMeta, EventSchemas, Status } from '../../src/types.js'
import { autoWelcome, type ScriptedServer, scriptedServer, useScriptedClients } from './scripted-socket.js'

const SECRET = 'SECRET123'
const RECONNECT = { minDelay: 10, maxDelay: 40, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 500 }
const clients = useScriptedClients<RealtimeClient<EventSchemas>>()


/** A client, closed after the test, and everything it reports: errors, statuses, log lines. */
function watch<S extends EventSchemas = EventSchemas>(options: ClientOptions<S>) {
  const logs: string[] = []
  const c = new RealtimeClient<S>({
    dedupe: false,
    reconnect: RECONNECT,
    heartbeat: { interval: 0 },
    logger: { debug: (message, ...details) => logs.push([message, ...details.map((d) => inspect(d))].join(' ')) },
    ...options,
  })
  clients.push(c as unknown as RealtimeClient<EventSchemas>)
  const errors: RealtimeError[] = []
  const statuses: Status[] = [c.status]
  c.on('error', (e) => errors.push(e))
  c.on('status', (s) => statuses.push(s))
  return { c, errors, statuses, logs }
}

/** Every way an error may end up in an app's log, except its `cause` (see below). */
const renderings = (e: RealtimeError): string[] => [e.message, String(e), e.stack ?? '', JSON.stringify(e), inspect(e, { depth: 0 }).replace(/\[cause\][\s\S]*$/, '')]

describe('the token in the URL', () => {
  it('never appears in an error message, a log line or the stats, over WebSocket', async () => {
    const server = scriptedServer()
    /** What each socket does, by number. */
    const script: ((s: ReturnType<() => NonNullable<ScriptedServer['last']>>) => void)[] = [
      // 1: the constructor throws, quoting the URL as browsers do
      (s) => {
        throw new SyntaxError(`Failed to construct 'WebSocket': The URL '${s.url}' is invalid.`)
      },
      // 2: opens; an event before welcome, then welcome and all sorts of bad frames; then 4400 with a reason
      (s) =>
        queueMicrotask(() => {
          s.open()
          s.frame({ type: 'event', seq: 1, event: 'alert', data: {} })
          s.frame({ type: 'welcome', session: 's1', resumed: false, seq: 0 })
          s.frame('not json')
          s.frame(new Uint8Array([1, 2, 3]))
          s.frame(`{"type":"event","seq":1,"event":"alert","data":"${'x'.repeat(300)}"}`)
          s.frame('{"type":"event","seq":1,"event":"alert","data":{"__proto__":{}}}')
          s.frame('{"type":"event","seq":"2","event":"alert"}')
          s.frame({ type: 'error', code: 'denied', message: 'no such topic' })
          s.frame({ type: 'event', seq: 5, event: 'alert', data: {} })
          s.serverClose(4400, 'unexpected frame')
        }),
      // 3: opens, never welcomes (the client gives up after connectTimeout)
      (s) => queueMicrotask(() => s.open()),
      // 4: welcomes with a heartbeat, then goes silent (the heartbeat finds it dead)
      (s) =>
        queueMicrotask(() => {
          s.open()
          s.frame({ type: 'welcome', session: 's1', resumed: true, seq: 5, heartbeat: 50 })
        }),
      // 5-7: refuse the credentials
      (s) => queueMicrotask(() => (s.open(), s.serverClose(4001, 'token expired'))),
    ]
    server.onSocket = (s) => (script[server.sockets.length - 1] ?? script.at(-1)!)(s)
    let calls = 0
    const { c, errors, statuses, logs } = watch({
      url: () => {
        if (++calls === 2) throw new Error('no token yet')
        return `wss://api.test/ws?token=${SECRET}&v=1`
      },
      WebSocket: server.WebSocket,
      maxMessageBytes: 200,
      heartbeat: { interval: 50, timeout: 50 },
      replay: { timeout: 100 },
    })
    const stats: string[] = []
    for (let i = 0; i < 40 && c.status !== 'closed'; i++) {
      await vi.advanceTimersByTimeAsync(100)
      stats.push(JSON.stringify(c.stats))
    }
    expect(c.status).toBe('closed')
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open', 'reconnecting', 'open', 'reconnecting', 'closed'])
    // every kind of report happened
    expect([...new Set(errors.map((e) => e.code))].sort()).toEqual(['invalid_message', 'protocol', 'server', 'transport', 'unauthorized'])
    expect(errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'could not open a WebSocket',
        'the url function failed',
        'the server reported a protocol error (4400): unexpected frame',
        'frame of 350 bytes is over maxMessageBytes (200)',
        'the server refused the credentials 3 times in a row',
      ]),
    )
    expect(logs).toEqual(expect.arrayContaining(['[wirefeed] connecting to wss://api.test/ws', '[wirefeed] socket closed (4000 no welcome)', '[wirefeed] socket closed (4000 heartbeat timeout)']))
    expect(stats.length).toBeGreaterThan(3)

    for (const e of errors) for (const text of renderings(e)) expect(text).not.toContain(SECRET)
    for (const line of logs) expect(line).not.toContain(SECRET)
    for (const s of stats) expect(s).not.toContain(SECRET)
    // `cause` is the platform's own error, passed on untouched: it may quote the URL (documented)
    const failed = errors.find((e) => e.message === 'could not open a WebSocket')!
    expect(failed.cause).toBeInstanceOf(SyntaxError)
    expect((failed.cause as Error).message).toContain(SECRET)
  })

  it('never appears in an error message, a log line or the stats, over HTTP polling', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const answers: ((url: string) => Response)[] = [
      () => new Response('oops', { status: 500 }),
      (url) => {
        throw new TypeError(`Failed to parse URL from ${url}`)
      },
      () => new Response('{"session":', { status: 200 }),
      () => new Response(JSON.stringify({ session: 's1', resumed: false, seq: 2, events: [{ type: 'event', seq: 2, event: 'alert', data: {} }] })),
      () => new Response('', { status: 429, headers: { 'retry-after': '0' } }),
      () => new Response('', { status: 401 }),
    ]
    const fetched: string[] = []
    const fetchStub = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input)
      if (init?.method === 'POST') return new Response(null, { status: 204 })
      fetched.push(url)
      return (answers[fetched.length - 1] ?? answers.at(-1)!)(url)
    }) as typeof fetch
    const { c, errors, logs } = watch({
      url: 'wss://api.test/ws',
      pollUrl: async () => `https://api.test/poll?token=${SECRET}`,
      fetch: fetchStub,
      polling: { interval: 50 },
    })
    const stats: string[] = []
    for (let i = 0; i < 40 && c.status !== 'closed'; i++) {
      await vi.advanceTimersByTimeAsync(100)
      stats.push(JSON.stringify(c.stats))
    }
    expect(c.status).toBe('closed')
    expect(fetched.length).toBeGreaterThanOrEqual(8)
    for (const url of fetched) expect(url).toContain(SECRET) // the token did travel, where it belongs
    expect(errors.map((e) => e.message)).toEqual(
      expect.arrayContaining(['poll answered HTTP 500', 'poll request failed', 'poll answered HTTP 429', 'the server refused the credentials 3 times in a row']),
    )
    expect(errors.map((e) => e.code)).toContain('invalid_message')
    expect(logs).toContain('[wirefeed] falling back to HTTP polling')
    // `cause` is the platform's own error, passed on untouched: it may quote the URL (documented)
    const failed = errors.find((e) => e.message === 'poll request failed')!
    expect(failed.cause).toBeInstanceOf(TypeError)
    expect((failed.cause as Error).message).toContain(SECRET)

    for (const e of errors) for (const text of renderings(e)) expect(text).not.toContain(SECRET)
    for (const line of logs) expect(line).not.toContain(SECRET)
    for (const s of stats) expect(s).not.toContain(SECRET)
  })
})

describe('clear-text URLs on a page served over https', () => {
  const page = (protocol: string) => vi.stubGlobal('location', { protocol, href: `${protocol}//app.test/` })

  it.each([
    ['ws://api.test/ws?token=SECRET123', 'ws://api.test/ws'],
    ['WS://api.test/ws', 'WS://api.test/ws'],
    ['  ws://api.test/ws', '  ws://api.test/ws'],
    ['http://api.test/ws?token=SECRET123', 'http://api.test/ws'],
  ])('url %j: one config error, status closed, no socket opened', async (url, shown) => {
    page('https:')
    const server = scriptedServer()
    const { c, errors, statuses, logs } = watch({ url: async () => url, WebSocket: server.WebSocket })
    await vi.advanceTimersByTimeAsync(1000)
    expect(errors.map((e) => [e.code, e.message])).toEqual([['config', `refused the insecure url ${shown} on an https page (see allowInsecure)`]])
    expect(statuses).toEqual(['connecting', 'closed'])
    expect(c.status).toBe('closed')
    expect(server.sockets).toEqual([])
    expect(logs.join('\n')).not.toContain(SECRET)
  })

  it('pollUrl http: one config error, status closed, no request made', async () => {
    page('https:')
    vi.stubGlobal('WebSocket', undefined)
    const fetchStub = vi.fn(async () => new Response(null, { status: 204 }))
    const { c, errors, statuses } = watch({ url: 'wss://api.test/ws', pollUrl: 'http://api.test/poll?token=SECRET123', fetch: fetchStub })
    await vi.advanceTimersByTimeAsync(1000)
    expect(errors.map((e) => [e.code, e.message])).toEqual([['config', 'refused the insecure pollUrl http://api.test/poll on an https page (see allowInsecure)']])
    expect(statuses).toEqual(['polling', 'closed'])
    expect(c.status).toBe('closed')
    expect(fetchStub).not.toHaveBeenCalled()
  })

  it('the fallback to an http: pollUrl is refused too, after the sockets failed', async () => {
    page('https:')
    const server = scriptedServer()
    server.onSocket = (s) => queueMicrotask(() => s.serverClose(1006))
    const fetchStub = vi.fn(async () => new Response(null, { status: 204 }))
    const { c, errors } = watch({
      url: 'wss://api.test/ws',
      pollUrl: 'http://api.test/poll',
      WebSocket: server.WebSocket,
      fetch: fetchStub,
      reconnect: { ...RECONNECT, maxAttempts: 2 },
    })
    await vi.advanceTimersByTimeAsync(1000)
    expect(server.sockets).toHaveLength(2)
    expect(errors.map((e) => e.code)).toEqual(['config'])
    expect(c.status).toBe('closed')
    expect(fetchStub).not.toHaveBeenCalled()
  })

  it('wss: and https: URLs connect', async () => {
    page('https:')
    const server = scriptedServer()
    autoWelcome(server)
    const { c, errors } = watch({ url: 'wss://api.test/ws', pollUrl: 'https://api.test/poll', WebSocket: server.WebSocket })
    await vi.advanceTimersByTimeAsync(0)
    expect(c.status).toBe('open')
    expect(errors).toEqual([])
  })

  it('allowInsecure: true lets a ws: URL through', async () => {
    page('https:')
    const server = scriptedServer()
    autoWelcome(server)
    const { c, errors } = watch({ url: 'ws://localhost:8080/ws', WebSocket: server.WebSocket, allowInsecure: true })
    await vi.advanceTimersByTimeAsync(0)
    expect(c.status).toBe('open')
    expect(server.sockets.map((s) => s.url)).toEqual(['ws://localhost:8080/ws'])
    expect(errors).toEqual([])
  })

  it.each([
    ['a page served over http', () => page('http:')],
    ['no page at all (Node, server-side rendering)', () => undefined],
    [
      'a `location` that throws when read',
      () =>
        vi.stubGlobal('location', undefined) &&
        Object.defineProperty(globalThis, 'location', {
          configurable: true,
          get() {
            throw new ReferenceError('location is not available')
          },
        }),
    ],
  ])('%s: a ws: URL connects', async (_name, setUp) => {
    setUp()
    const server = scriptedServer()
    autoWelcome(server)
    const { c, errors } = watch({ url: 'ws://api.test/ws', WebSocket: server.WebSocket })
    await vi.advanceTimersByTimeAsync(0)
    expect(c.status).toBe('open')
    expect(errors).toEqual([])
  })

  it('recovery: once the url function returns a wss: URL, connect() opens', async () => {
    page('https:')
    const server = scriptedServer()
    autoWelcome(server)
    let scheme = 'ws'
    const { c, errors } = watch({ url: () => `${scheme}://api.test/ws`, WebSocket: server.WebSocket })
    await vi.advanceTimersByTimeAsync(0)
    expect(c.status).toBe('closed')
    scheme = 'wss'
    c.connect()
    await vi.advanceTimersByTimeAsync(0)
    expect(c.status).toBe('open')
    expect(errors.map((e) => e.code)).toEqual(['config'])
    expect(server.sockets.map((s) => s.url)).toEqual(['wss://api.test/ws'])
  })
})

describe('names and keys from the wire never reach a prototype', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'] as const

  async function open<S extends EventSchemas>(events?: S) {
    const server = scriptedServer()
    autoWelcome(server)
    const w = watch({ url: 'wss://api.test/ws', WebSocket: server.WebSocket, ...(events ? { events } : {}) })
    await vi.advanceTimersByTimeAsync(0)
    expect(w.c.status).toBe('open')
    return { ...w, socket: server.last! }
  }

  it('events named after Object.prototype members reach the listeners of those names, and "*", as plain events', async () => {
    const { c, errors, socket } = await open()
    const named = new Map<string, unknown[]>(NAMES.map((n) => [n, []]))
    const any: [string, unknown][] = []
    const handle = c as RealtimeClient
    for (const name of NAMES) handle.on(name, (data: unknown) => named.get(name)!.push(data))
    c.on('*', (data: unknown, meta: EventMeta) => any.push([meta.event, data]))
    NAMES.forEach((event, i) => socket.frame({ type: 'event', seq: i + 1, event, data: { i } }))
    socket.frame({ type: 'event', seq: NAMES.length + 1, event: 'alert', data: { i: 'alert' } })
    await vi.advanceTimersByTimeAsync(0)
    for (const [i, name] of NAMES.entries()) expect(named.get(name), name).toEqual([{ i }])
    expect(any).toEqual([...NAMES.map((n, i) => [n, { i }]), ['alert', { i: 'alert' }]])
    expect(errors).toEqual([])
    expect(Object.getPrototypeOf({})).toBe(Object.prototype)
    expect(typeof Object.prototype.toString).toBe('function')
    expect(({} as Record<string, unknown>).i).toBeUndefined()
  })

  it('an event named after a prototype member has no schema unless one was given for it', async () => {
    const schemas = { alert: z.object({ id: z.string() }), ['__proto__']: z.object({ n: z.number() }) }
    expect(Object.keys(schemas)).toContain('__proto__') // a computed key: an own property, not the prototype
    const { c, errors, socket } = await open(schemas)
    const seen: [string, unknown][] = []
    c.on('*', (data: unknown, meta: EventMeta) => seen.push([meta.event, data]))
    socket.frame({ type: 'event', seq: 1, event: 'toString', data: 'not an object' })
    socket.frame({ type: 'event', seq: 2, event: 'constructor', data: 7 })
    socket.frame({ type: 'event', seq: 3, event: '__proto__', data: { n: 1 } })
    socket.frame({ type: 'event', seq: 4, event: '__proto__', data: { n: 'one' } })
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([
      ['toString', 'not an object'],
      ['constructor', 7],
      ['__proto__', { n: 1 }],
    ])
    expect(errors.map((e) => [e.code, e.event, e.seq])).toEqual([['schema', '__proto__', 4]])
  })

  it('payloads with __proto__ keys arrive without them; constructor and prototype keys arrive as plain data', async () => {
    const { c, errors, socket } = await open()
    const seen: unknown[] = []
    c.on('*', (data: unknown) => seen.push(data))
    socket.frame('{"type":"event","seq":1,"event":"a","data":{"__proto__":{"polluted":true},"ok":1}}')
    socket.frame('{"type":"event","seq":2,"event":"a","data":{"deep":[{"\\u005f_proto__":{"polluted":true}}]}}')
    socket.frame('{"type":"event","seq":3,"event":"a","data":{"constructor":{"prototype":{"polluted":true}}}}')
    socket.frame('{"type":"event","seq":4,"event":"a","data":{"prototype":{"polluted":true},"toString":"x"}}')
    await vi.advanceTimersByTimeAsync(0)
    const expected: unknown[] = [{ ok: 1 }, { deep: [{}] }, { constructor: { prototype: { polluted: true } } }, { prototype: { polluted: true }, toString: 'x' }]
    expect(seen).toEqual(expected)
    for (const data of seen) expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
    expect(Object.hasOwn(seen[0] as object, '__proto__')).toBe(false)
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['invalid_message', 'a "__proto__" key was removed from the frame'],
      ['invalid_message', 'a "__proto__" key was removed from the frame'],
    ])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
    expect(Object.prototype.constructor).toBe(Object)
  })
})
