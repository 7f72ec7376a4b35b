import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { RealtimeError } from '../../src/errors.js'
import type { Outbound, PollQuery, PollResult } from '../../src/protocol/types.js'
import { v1Protocol } from '../../src/protocol/v1.js'
import { type PollHooks, Poller, type PollOptions, retryAfter } from '../../src/transport/polling.js'

const BASE = 'https://api.test/api/events'
const FIRST_URL = `${BASE}?session=s1&after=41&events=alert%2Cincident.*`

interface Call {
  url: string
  init: RequestInit
  signal: AbortSignal
  resolve(response: Response): void
  reject(error: unknown): void
}

/** A fetch whose answers the test gives by hand; an aborted call rejects as the real one does. */
function fakeFetch() {
  const calls: Call[] = []
  const fn = vi.fn<typeof fetch>(
    (input, init = {}) =>
      new Promise<Response>((resolve, reject) => {
        const signal = init.signal ?? new AbortController().signal
        signal.addEventListener('abort', () => reject(signal.reason))
        calls.push({ url: String(input), init, signal, resolve, reject })
      }),
  )
  const gets = (): Call[] => calls.filter((c) => (c.init.method ?? 'GET') === 'GET')
  const posts = (): Call[] => calls.filter((c) => c.init.method === 'POST')
  return { fn, calls, gets, posts }
}

const json = (body: unknown, init: ResponseInit = {}): Response =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' }, ...init })

const answer = (seq: number, events: number[] = [], session = 's1'): Response =>
  json({ session, resumed: true, seq, events: events.map((s) => ({ type: 'event', seq: s, event: 'alert', data: { n: s } })) })

function setup(options: Partial<PollOptions> = {}, query: Partial<PollQuery> = {}, hooks: Partial<PollHooks> = {}) {
  const f = fakeFetch()
  const q: PollQuery = { session: 's1', after: 41, events: ['alert', 'incident.*'], wait: 0, ...query }
  const results: PollResult[] = []
  const warnings: (string | undefined)[] = []
  const errors: RealtimeError[] = []
  let unauthorized = 0
  let sessionLost = 0
  let url: () => Promise<string> = async () => BASE
  const poller = new Poller(
    f.fn,
    v1Protocol.http!,
    { minDelay: 1000, maxDelay: 16000, factor: 2, jitter: 0, interval: 30000, wait: 0, maxMessageBytes: 1 << 20, ...options },
    {
      query: () => q,
      url: () => url(),
      result: (r, warning) => {
        results.push(r)
        warnings.push(warning)
        if (r.events.length > 0) q.after = r.events[r.events.length - 1]!.seq ?? null
      },
      error: (e) => errors.push(e),
      unauthorized: () => unauthorized++,
      sessionLost: () => sessionLost++,
      ...hooks,
    },
  )
  return {
    ...f,
    poller,
    q,
    results,
    warnings,
    errors,
    unauthorized: () => unauthorized,
    sessionLost: () => sessionLost,
    setUrl: (fn: () => Promise<string>) => {
      url = fn
    },
  }
}

/** Let promise chains (fetch, body reads) run, and timers that are due now. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(0)
}

/** Advance to just before `ms` and check nothing new was fetched, then to `ms` and check one GET. */
async function expectNextGetAfter(t: ReturnType<typeof setup>, ms: number): Promise<void> {
  const before = t.gets().length
  await vi.advanceTimersByTimeAsync(ms - 1)
  expect(t.gets()).toHaveLength(before)
  await vi.advanceTimersByTimeAsync(1)
  expect(t.gets()).toHaveLength(before + 1)
}

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('retryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it.each([
    ['120', 120000],
    [' 7 ', 7000],
    ['0', 0],
    ['1.5', 1500],
    ['-5', 0],
    [new Date(now + 30000).toUTCString(), 30000],
    ['Thu, 01 Jan 2026 00:01:00 GMT', 60000],
    [new Date(now - 30000).toUTCString(), 0],
  ])('%j → %j ms', (header, ms) => {
    expect(retryAfter(header, now)).toBe(ms)
  })

  it.each([[null], [''], ['   '], ['soon'], ['Infinity'], ['12 seconds'], ['NaN']])('%j → undefined', (header) => {
    expect(retryAfter(header, now)).toBeUndefined()
  })
})

describe('Poller: the GET loop', () => {
  it('polls at once on start() with the session, last seq and patterns from the hook', async () => {
    const t = setup()
    t.poller.start()
    expect(t.poller.active).toBe(true)
    await settle()
    expect(t.calls).toHaveLength(1)
    const [call] = t.calls
    expect(call!.url).toBe(FIRST_URL)
    expect(call!.init.method).toBe('GET')
    expect(call!.init.cache).toBe('no-store')
    expect(call!.signal).toBeInstanceOf(AbortSignal)
    expect(call!.signal.aborted).toBe(false)
  })

  it('omits session and after on a first connect', async () => {
    const t = setup({}, { session: null, after: null, events: ['alert'] })
    t.poller.start()
    await settle()
    expect(t.calls[0]!.url).toBe(`${BASE}?events=alert`)
  })

  it('start() twice polls once', async () => {
    const t = setup()
    t.poller.start()
    t.poller.start()
    await settle()
    expect(t.calls).toHaveLength(1)
  })

  it('hands the decoded answer to the hook and waits `interval` before the next poll (plain polling)', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(answer(43, [42, 43]))
    await settle()
    expect(t.results).toEqual([
      {
        session: 's1',
        resumed: true,
        seq: 43,
        events: [
          { type: 'event', seq: 42, event: 'alert', data: { n: 42 } },
          { type: 'event', seq: 43, event: 'alert', data: { n: 43 } },
        ],
      },
    ])
    expect(t.warnings).toEqual([undefined])
    expect(t.errors).toEqual([])
    await expectNextGetAfter(t, 30000)
    // the next poll reads the hook again: it asks after the last seq delivered
    expect(t.gets()[1]!.url).toBe(`${BASE}?session=s1&after=43&events=alert%2Cincident.*`)
  })

  it('long polling (wait > 0) asks the server to hold and polls again at once', async () => {
    const t = setup({ wait: 25000 }, { wait: 25000 })
    t.poller.start()
    await settle()
    expect(t.gets()[0]!.url).toBe(`${FIRST_URL}&wait=25000`)
    // held by the server until it timed out empty: poll again at once
    await vi.advanceTimersByTimeAsync(25000)
    t.gets()[0]!.resolve(answer(41))
    await settle()
    expect(t.gets()).toHaveLength(2)
    t.gets()[1]!.resolve(answer(42, [42]))
    await settle()
    expect(t.gets()).toHaveLength(3)
    expect(t.gets()[2]!.url).toBe(`${BASE}?session=s1&after=42&events=alert%2Cincident.*&wait=25000`)
    expect(t.results.map((r) => r.events.map((e) => e.seq))).toEqual([[], [42]])
  })

  it('long polling against a server that answers at once with nothing asks at most once a second', async () => {
    const t = setup({ wait: 25000 }, { wait: 25000 })
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(answer(41))
    await expectNextGetAfter(t, 1000)
    t.gets()[1]!.resolve(answer(41))
    await expectNextGetAfter(t, 1000)
    // an answer with events, however quick, is followed at once
    t.gets()[2]!.resolve(answer(42, [42]))
    await settle()
    expect(t.gets()).toHaveLength(4)
  })

  it('network errors back off 1s, 2s, 4s (jitter 0) and report a transport error each time', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.reject(new TypeError('fetch failed'))
    await settle()
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['transport', 'poll request failed']])
    expect(t.errors[0]!.cause).toBeInstanceOf(TypeError)
    await expectNextGetAfter(t, 1000)
    t.gets()[1]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 2000)
    t.gets()[2]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 4000)
    expect(t.errors).toHaveLength(3)
  })

  it('a success resets the error backoff', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 1000)
    t.gets()[1]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 2000)
    t.gets()[2]!.resolve(answer(41))
    await settle()
    await expectNextGetAfter(t, 30000)
    t.gets()[3]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 1000)
  })

  it('error delays are jittered within ±jitter of their step', async () => {
    const t = setup({ jitter: 0.2 })
    const random = vi.spyOn(Math, 'random').mockReturnValue(0)
    t.poller.start()
    await settle()
    t.gets()[0]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 800)
    random.mockReturnValue(1)
    t.gets()[1]!.reject(new TypeError('fetch failed'))
    await settle()
    await expectNextGetAfter(t, 2400)
  })

  it('an HTTP error status is a transport error and backs off', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('oops', { status: 500 }))
    await settle()
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['transport', 'poll answered HTTP 500']])
    expect(t.results).toEqual([])
    await expectNextGetAfter(t, 1000)
  })

  it('an unreadable answer is an invalid_message error and backs off', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('<html>', { status: 200 }))
    await settle()
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['invalid_message', 'poll response is not a JSON object']])
    await expectNextGetAfter(t, 1000)
    t.gets()[1]!.resolve(json({ session: 's1', resumed: true, seq: 1, events: [{ type: 'event', seq: -1, event: 'a', data: 1 }] }))
    await settle()
    expect(t.errors[1]!.message).toBe('invalid event in poll response: "seq" must be a non-negative integer')
    expect(t.results).toEqual([])
    await expectNextGetAfter(t, 2000)
  })

  it('passes on the warning of a repaired answer', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(
      new Response('{"session":"s1","resumed":true,"seq":42,"events":[{"type":"event","seq":42,"event":"a","data":{"__proto__":{"x":1},"ok":1}}]}'),
    )
    await settle()
    expect(t.results[0]!.events[0]!.data).toStrictEqual({ ok: 1 })
    expect(t.warnings).toEqual(['a "__proto__" key was removed from the poll response'])
  })

  it.each([429, 503])('%i honours Retry-After in seconds', async (status) => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('', { status, headers: { 'retry-after': '10' } }))
    await settle()
    expect(t.errors.map((e) => e.message)).toEqual([`poll answered HTTP ${status}`])
    await expectNextGetAfter(t, 10000)
  })

  it('503 honours Retry-After as an HTTP date', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('', { status: 503, headers: { 'retry-after': new Date(Date.now() + 20000).toUTCString() } }))
    await settle()
    await expectNextGetAfter(t, 20000)
  })

  it('429 without a usable Retry-After (or a shorter one) waits the backoff delay', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('', { status: 429, headers: { 'retry-after': 'later' } }))
    await settle()
    await expectNextGetAfter(t, 1000)
    t.gets()[1]!.resolve(new Response('', { status: 429, headers: { 'retry-after': '0' } }))
    await settle()
    await expectNextGetAfter(t, 2000)
  })

  it('a Retry-After beyond what a timer can hold still waits instead of polling at once', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('', { status: 503, headers: { 'retry-after': String(60 * 60 * 24 * 40) } }))
    await settle()
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000)
    expect(t.gets()).toHaveLength(1)
  })

  it('an interval beyond what a timer can hold still waits instead of polling at once', async () => {
    const t = setup({ interval: 2 ** 31 + 1000 })
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(answer(41))
    await settle()
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000)
    expect(t.gets()).toHaveLength(1)
  })

  it.each([401, 403])('%i calls unauthorized (no error event) and backs off', async (status) => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response('', { status }))
    await settle()
    expect(t.unauthorized()).toBe(1)
    expect(t.errors).toEqual([])
    await expectNextGetAfter(t, 1000)
  })

  it('a failing url() is a transport error and backs off', async () => {
    const t = setup()
    t.setUrl(async () => {
      throw new Error('no token')
    })
    t.poller.start()
    await settle()
    expect(t.calls).toEqual([])
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['transport', 'the pollUrl function failed']])
    t.setUrl(async () => BASE)
    await expectNextGetAfter(t, 1000)
  })

  it('rejects an answer whose Content-Length is over maxMessageBytes', async () => {
    const t = setup({ maxMessageBytes: 100 })
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(json({ session: 's1', resumed: true, seq: 41, events: [] }, { headers: { 'content-length': '101' } }))
    await settle()
    expect(t.results).toEqual([])
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['invalid_message', 'poll response unreadable or too large']])
    await expectNextGetAfter(t, 1000)
  })

  it('rejects a body over maxMessageBytes without Content-Length, counting UTF-8 bytes', async () => {
    const t = setup({ maxMessageBytes: 200 })
    const body = (text: string): string =>
      JSON.stringify({ session: 's1', resumed: true, seq: 42, events: [{ type: 'event', seq: 42, event: 'a', data: text }] })
    // 130 characters but 230 bytes: too large
    const big = body('é'.repeat(100))
    expect(big.length).toBeLessThanOrEqual(200)
    expect(new TextEncoder().encode(big).length).toBeGreaterThan(200)
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(new Response(big))
    await settle()
    expect(t.results).toEqual([])
    expect(t.errors.map((e) => e.code)).toEqual(['invalid_message'])
    // exactly at the limit is fine
    await expectNextGetAfter(t, 1000)
    const fits = body('x'.repeat(200 - body('').length))
    expect(new TextEncoder().encode(fits).length).toBe(200)
    t.gets()[1]!.resolve(new Response(fits))
    await settle()
    expect(t.results).toHaveLength(1)
  })
})

describe('Poller: deadlines', () => {
  it('a GET with no answer is given up after connectTimeout (default 10 s), reported, and retried with backoff', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    const first = t.gets()[0]!
    await vi.advanceTimersByTimeAsync(9999)
    expect(first.signal.aborted).toBe(false)
    expect(t.errors).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(first.signal.aborted).toBe(true)
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['transport', 'poll timed out after 10000 ms']])
    await expectNextGetAfter(t, 1000)
  })

  it('a long poll may take `wait` plus connectTimeout', async () => {
    const t = setup({ wait: 25000, connectTimeout: 5000 }, { wait: 25000 })
    t.poller.start()
    await settle()
    await vi.advanceTimersByTimeAsync(29999)
    expect(t.gets()[0]!.signal.aborted).toBe(false)
    t.gets()[0]!.resolve(answer(41))
    await settle()
    expect(t.errors).toEqual([])
    expect(t.gets()).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(30000)
    expect(t.gets()[1]!.signal.aborted).toBe(true)
    expect(t.errors.map((e) => e.message)).toEqual(['poll timed out after 30000 ms'])
  })

  it('the deadline also covers a body that stops half way', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    const call = t.gets()[0]!
    // as a real fetch does, aborting the request errors its body
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"session":"s1",'))
        call.signal.addEventListener('abort', () => controller.error(call.signal.reason))
      },
    })
    await vi.advanceTimersByTimeAsync(4000)
    call.resolve(new Response(body))
    await settle()
    expect(t.errors).toEqual([])
    await vi.advanceTimersByTimeAsync(6000)
    expect(t.errors.map((e) => e.message)).toEqual(['poll timed out after 10000 ms'])
    expect(t.results).toEqual([])
    await expectNextGetAfter(t, 1000)
  })

  it('an answered request leaves no deadline behind', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    expect(vi.getTimerCount()).toBe(1)
    t.gets()[0]!.resolve(answer(41))
    await settle()
    // only the wait for the next poll
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(29999)
    expect(t.errors).toEqual([])
  })

  it('a POST with no answer is given up after connectTimeout and its messages are kept', async () => {
    const t = setup({ connectTimeout: 3000 })
    t.poller.start()
    await settle()
    t.poller.send({ type: 'refresh' })
    await settle()
    const post = t.posts()[0]!
    await vi.advanceTimersByTimeAsync(2999)
    expect(post.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(post.signal.aborted).toBe(true)
    t.poller.send({ type: 'ack', seq: 42 })
    await settle()
    expect(t.posts()).toHaveLength(2)
    expect(JSON.parse(String(t.posts()[1]!.init.body)).messages).toEqual([{ type: 'refresh' }, { type: 'ack', seq: 42 }])
  })
})

describe('Poller: now() and stop()', () => {
  it('now() aborts the request in flight (without an error) and polls at once', async () => {
    const t = setup({ wait: 25000 }, { wait: 25000 })
    t.poller.start()
    await settle()
    const first = t.gets()[0]!
    t.poller.now()
    expect(first.signal.aborted).toBe(true)
    await settle()
    expect(t.gets()).toHaveLength(2)
    expect(t.gets()[1]!.signal.aborted).toBe(false)
    expect(t.errors).toEqual([])
    t.gets()[1]!.resolve(answer(42, [42]))
    await settle()
    expect(t.results).toHaveLength(1)
  })

  it('now() ends the wait between plain polls', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(answer(41))
    await settle()
    await vi.advanceTimersByTimeAsync(5000)
    expect(t.gets()).toHaveLength(1)
    t.poller.now()
    await settle()
    expect(t.gets()).toHaveLength(2)
    // and the old schedule is gone: the next poll is `interval` after this one's answer
    t.gets()[1]!.resolve(answer(41))
    await settle()
    await expectNextGetAfter(t, 30000)
  })

  it('an answer that arrives after now() took over is ignored', async () => {
    const t = setup()
    // a fetch that ignores the abort signal
    t.fn.mockImplementationOnce(
      () =>
        new Promise<Response>((resolve) => {
          t.calls.push({ url: 'late', init: { method: 'GET' }, signal: new AbortController().signal, resolve, reject: () => {} })
        }),
    )
    t.poller.start()
    await settle()
    t.poller.now()
    await settle()
    t.gets()[0]!.resolve(answer(99, [99]))
    await settle()
    expect(t.results).toEqual([])
    expect(t.gets()).toHaveLength(2)
  })

  it('now() before start() does nothing', async () => {
    const t = setup()
    t.poller.now()
    await settle()
    expect(t.calls).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stop() aborts the request in flight, leaves no timer and polls no more', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    const first = t.gets()[0]!
    t.poller.stop()
    expect(t.poller.active).toBe(false)
    expect(first.signal.aborted).toBe(true)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(120000)
    expect(t.calls).toHaveLength(1)
    expect(t.errors).toEqual([])
    expect(t.results).toEqual([])
  })

  it('stop() during the wait between polls leaves no timer', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(answer(41))
    await settle()
    expect(vi.getTimerCount()).toBe(1)
    t.poller.stop()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(120000)
    expect(t.calls).toHaveLength(1)
  })

  it('stop() while url() is resolving: no request follows', async () => {
    const t = setup()
    let release: (url: string) => void = () => {}
    t.setUrl(() => new Promise<string>((resolve) => (release = resolve)))
    t.poller.start()
    await settle()
    t.poller.stop()
    release(BASE)
    await settle()
    expect(t.calls).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stop() during a backoff wait leaves no timer', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.gets()[0]!.reject(new TypeError('fetch failed'))
    await settle()
    t.poller.stop()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60000)
    expect(t.calls).toHaveLength(1)
  })

  it('an error hook that stops the poller (an app closing the client) leaves no retry timer behind', async () => {
    const t = setup({}, {}, { error: () => t.poller.stop() })
    t.poller.start()
    await settle()
    t.gets()[0]!.reject(new TypeError('fetch failed'))
    await settle()
    expect(t.poller.active).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(60000)
    expect(t.calls).toHaveLength(1)
  })

  it('start() after stop() polls again', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.stop()
    t.poller.start()
    await settle()
    expect(t.gets()).toHaveLength(2)
    expect(t.gets()[1]!.signal.aborted).toBe(false)
  })
})

describe('Poller: the POST of client messages', () => {
  const subscribe: Outbound = { type: 'subscribe', events: ['host'], all: ['host'] }
  /** How v1 puts it on the wire: the change only. */
  const subscribed = { type: 'subscribe', events: ['host'] }
  const ack: Outbound = { type: 'ack', seq: 42 }
  const refresh: Outbound = { type: 'refresh' }

  it('POSTs a queued message with the session at once', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    expect(t.posts()).toHaveLength(1)
    const [post] = t.posts()
    expect(post!.url).toBe(BASE)
    expect(post!.init.headers).toEqual({ 'content-type': 'application/json' })
    expect(JSON.parse(String(post!.init.body))).toEqual({ session: 's1', messages: [subscribed] })
    post!.resolve(new Response(null, { status: 204 }))
    await settle()
    expect(t.errors).toEqual([])
    expect(t.sessionLost()).toBe(0)
  })

  it('sends one POST at a time: what is queued meanwhile goes in the next one, in order', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    t.poller.send(ack)
    t.poller.send(refresh)
    await settle()
    expect(t.posts()).toHaveLength(1)
    t.posts()[0]!.resolve(new Response(null, { status: 204 }))
    await settle()
    expect(t.posts()).toHaveLength(2)
    expect(JSON.parse(String(t.posts()[1]!.init.body))).toEqual({ session: 's1', messages: [ack, refresh] })
  })

  it('stop() hands back what may not have reached the server: the POST in flight, then the queue', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    t.poller.send(ack)
    t.poller.send(refresh)
    expect(t.poller.stop()).toEqual([subscribe, ack, refresh])
    expect(t.posts()[0]!.signal.aborted).toBe(true)
    expect(t.poller.stop()).toEqual([])
  })

  it('stop() after a POST was answered hands back nothing', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(ack)
    await settle()
    t.posts()[0]!.resolve(new Response(null, { status: 204 }))
    await settle()
    expect(t.poller.stop()).toEqual([])
  })

  it('waits for a session before POSTing; the first answer releases the queue', async () => {
    const t = setup({}, { session: null, after: null })
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    expect(t.posts()).toEqual([])
    t.q.session = 's-new'
    t.gets()[0]!.resolve(json({ session: 's-new', resumed: false, seq: 0, events: [] }))
    await settle()
    expect(t.posts()).toHaveLength(1)
    expect(JSON.parse(String(t.posts()[0]!.init.body))).toEqual({ session: 's-new', messages: [subscribed] })
  })

  it('a POST answered 404 reports the session lost and polls again at once, aborting the long poll', async () => {
    const t = setup({ wait: 25000 }, { wait: 25000 })
    t.poller.start()
    await settle()
    const longPoll = t.gets()[0]!
    t.poller.send(subscribe)
    await settle()
    t.posts()[0]!.resolve(new Response(null, { status: 404 }))
    await settle()
    expect(t.sessionLost()).toBe(1)
    expect(longPoll.signal.aborted).toBe(true)
    expect(t.gets()).toHaveLength(2)
    expect(t.errors).toEqual([])
  })

  it('a failed POST keeps its messages, in order, for the next one', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    t.poller.send(ack)
    t.posts()[0]!.resolve(new Response('', { status: 500 }))
    await settle()
    expect(t.posts()).toHaveLength(1)
    // the next successful poll flushes the queue
    t.gets()[0]!.resolve(answer(41))
    await settle()
    expect(t.posts()).toHaveLength(2)
    expect(JSON.parse(String(t.posts()[1]!.init.body)).messages).toEqual([subscribed, ack])
  })

  it('a POST that fails on the network keeps its messages too', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(refresh)
    await settle()
    t.posts()[0]!.reject(new TypeError('fetch failed'))
    await settle()
    t.poller.send(ack)
    await settle()
    expect(t.posts()).toHaveLength(2)
    expect(JSON.parse(String(t.posts()[1]!.init.body)).messages).toEqual([refresh, ack])
  })

  it('a fetch that throws synchronously on POST does not jam the queue', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.fn.mockImplementationOnce(() => {
      throw new TypeError('invalid request')
    })
    t.poller.send(refresh)
    await settle()
    expect(t.posts()).toEqual([])
    t.poller.send(ack)
    await settle()
    expect(t.posts()).toHaveLength(1)
    expect(JSON.parse(String(t.posts()[0]!.init.body)).messages).toEqual([refresh, ack])
  })

  it.each([401, 403])('a POST answered %i calls unauthorized and keeps the messages', async (status) => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    t.posts()[0]!.resolve(new Response('', { status }))
    await settle()
    expect(t.unauthorized()).toBe(1)
    t.poller.send(ack)
    await settle()
    expect(JSON.parse(String(t.posts()[1]!.init.body)).messages).toEqual([subscribed, ack])
  })

  it('the outbox is bounded: past 100 messages the oldest is dropped with an overflow error', async () => {
    const t = setup({}, { session: null, after: null })
    t.poller.start()
    await settle()
    for (let seq = 1; seq <= 101; seq++) t.poller.send({ type: 'ack', seq })
    expect(t.errors.map((e) => e.code)).toEqual(['overflow'])
    expect(t.errors[0]!.message).toBe('poll outbox full (100): 1 oldest dropped')
    t.q.session = 's1'
    t.gets()[0]!.resolve(answer(41))
    await settle()
    const messages = JSON.parse(String(t.posts()[0]!.init.body)).messages as { seq: number }[]
    expect(messages).toHaveLength(100)
    expect(messages[0]).toEqual({ type: 'ack', seq: 2 })
    expect(messages[99]).toEqual({ type: 'ack', seq: 101 })
  })

  it('a failed POST put back into a full outbox reports what it drops', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send({ type: 'ack', seq: 0 })
    await settle()
    for (let seq = 1; seq <= 100; seq++) t.poller.send({ type: 'ack', seq })
    expect(t.errors).toEqual([])
    t.posts()[0]!.resolve(new Response('', { status: 500 }))
    await settle()
    expect(t.errors.map((e) => [e.code, e.message])).toEqual([['overflow', 'poll outbox full (100): 1 oldest dropped']])
    t.gets()[0]!.resolve(answer(41))
    await settle()
    const messages = JSON.parse(String(t.posts()[1]!.init.body)).messages as { seq: number }[]
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
  })

  it('stop() aborts the POST in flight and drops what is queued', async () => {
    const t = setup()
    t.poller.start()
    await settle()
    t.poller.send(subscribe)
    await settle()
    t.poller.send(ack)
    const post = t.posts()[0]!
    expect(post.signal.aborted).toBe(false)
    t.poller.stop()
    expect(post.signal.aborted).toBe(true)
    await settle()
    expect(vi.getTimerCount()).toBe(0)
    t.poller.start()
    await settle()
    t.gets()[1]!.resolve(answer(41))
    await settle()
    // nothing of the stopped run is sent again
    expect(t.posts()).toHaveLength(1)
    expect(t.errors).toEqual([])
  })

  it('send() before start() queues without POSTing', async () => {
    const t = setup()
    t.poller.send(subscribe)
    await settle()
    expect(t.calls).toEqual([])
  })
})

describe('Poller: once()', () => {
  it('makes one GET, never a long poll, hands over its answer as a single one, and starts no loop', async () => {
    const once: boolean[] = []
    const t = setup({ wait: 25_000 }, { wait: 25_000 }, { result: (_r, _w, single) => once.push(single) })
    const done = t.poller.once()
    await settle()
    expect(t.gets().map((c) => c.url)).toEqual([FIRST_URL])
    t.gets()[0]!.resolve(answer(43, [42, 43]))
    await done
    expect(once).toEqual([true])
    expect(t.poller.active).toBe(false)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(t.gets()).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a failed request is an error and is not retried', async () => {
    const t = setup()
    const done = t.poller.once()
    await settle()
    t.gets()[0]!.resolve(new Response('down', { status: 503 }))
    await done
    expect(t.errors.map((e) => e.message)).toEqual(['poll answered HTTP 503'])
    await vi.advanceTimersByTimeAsync(120_000)
    expect(t.gets()).toHaveLength(1)
  })

  it('while polling, it is now(): the loop polls at once', async () => {
    const t = setup({ interval: 30_000 })
    t.poller.start()
    await settle()
    t.gets()[0]!.resolve(answer(41))
    await settle()
    await t.poller.once()
    await settle()
    expect(t.gets()).toHaveLength(2)
    t.poller.stop()
  })

  it('stop() aborts it', async () => {
    const t = setup()
    const done = t.poller.once()
    await settle()
    t.poller.stop()
    await done
    expect(t.gets()[0]!.signal.aborted).toBe(true)
    expect(t.errors).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })
})
