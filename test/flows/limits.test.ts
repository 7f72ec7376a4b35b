/**
 * Every buffer the client keeps is bounded, and going past a bound gives a clear report and a
 * defined recovery (PROTOCOL.md, "Limits"), seen from the app through the public API:
 *
 * | limit | over it |
 * |---|---|
 * | frame size (`maxMessageBytes`) | `invalid_message`, the frame is skipped; a skipped event is a hole, given up by `resync` |
 * | reorder buffer (`replay.maxBuffer`), also while a replay is outstanding | the oldest hole is given up (`buffer_full`); at most `maxBuffer` events are ever held |
 * | acks held while nothing can carry them (1000) | `overflow`, the oldest dropped; the rest go out with the next session |
 * | poll outbox (100) | `overflow`, the oldest dropped; the rest go out in the next POST |
 * | WebSocket sends | nothing is queued: `refresh()` is sent once, subscriptions travel with `hello` and `welcome` |
 */
import { describe, expect, it, vi } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { RealtimeError } from '../../src/errors.js'
import type { ClientOptions, EventMeta, ResyncInfo } from '../../src/types.js'
import { autoWelcome, type ScriptedServer, scriptedServer, useScriptedClients } from './scripted-socket.js'

const RECONNECT = { minDelay: 10, maxDelay: 40, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 1000 }
/** Long enough for the first reconnect: its backoff step, then the transport's own 0 ms wait. */
const RECONNECTED = RECONNECT.minDelay + 5
const clients = useScriptedClients<RealtimeClient>()
const bytes = (text: string): number => new TextEncoder().encode(text).length


/** An open client on a scripted server, and what it reports. */
async function open(options: Partial<ClientOptions> = {}, server: ScriptedServer = scriptedServer()) {
  if (!server.onSocket) autoWelcome(server)
  const c = new RealtimeClient({ url: 'wss://api.test/ws', WebSocket: server.WebSocket, dedupe: false, reconnect: RECONNECT, heartbeat: { interval: 0 }, ...options })
  clients.push(c)
  const errors: RealtimeError[] = []
  const resyncs: ResyncInfo[] = []
  const seqs: number[] = []
  c.on('error', (e) => errors.push(e))
  c.on('resync', (r) => resyncs.push(r))
  c.on('*', (_data: unknown, meta: EventMeta) => seqs.push(meta.seq))
  await vi.advanceTimersByTimeAsync(0)
  expect(c.status).toBe('open')
  return { c, server, socket: server.last!, errors, resyncs, seqs }
}

const event = (seq: number, extra: Record<string, unknown> = {}) => ({ type: 'event', seq, event: 'alert', data: { seq }, ...extra })

describe('frame size: maxMessageBytes', () => {
  it('a frame over the limit (counted in UTF-8 bytes) is one invalid_message error; the link stays and the next event is delivered', async () => {
    const { c, socket, errors, seqs } = await open({ maxMessageBytes: 200 })
    const euro = JSON.stringify({ type: 'notice', text: '€'.repeat(57) })
    const over = JSON.stringify({ type: 'notice', text: '€'.repeat(58) })
    // under 200 characters each, but not in bytes
    expect([euro.length, bytes(euro), over.length, bytes(over)]).toEqual([84, 198, 85, 201])
    socket.frame(euro)
    socket.frame(over)
    socket.frame(event(1))
    await vi.advanceTimersByTimeAsync(0)
    expect(errors.map((e) => [e.code, e.message])).toEqual([['invalid_message', 'frame of 201 bytes is over maxMessageBytes (200)']])
    expect(seqs).toEqual([1])
    expect(c.status).toBe('open')
  })

  it('an event over the limit is skipped: its seq is a hole, asked for once, and given up by one resync', async () => {
    const { socket, errors, resyncs, seqs } = await open({ maxMessageBytes: 200, replay: { timeout: 1000 } })
    const huge = JSON.stringify(event(1, { data: 'x'.repeat(300) }))
    expect(bytes(huge)).toBe(350)
    socket.frame(huge)
    socket.frame(event(2))
    await vi.advanceTimersByTimeAsync(0)
    expect(seqs).toEqual([])
    expect(socket.messages('replay')).toEqual([{ type: 'replay', after: 0 }])
    // the server replays it, still too large: skipped again
    socket.frame(huge)
    await vi.advanceTimersByTimeAsync(1000)
    expect(resyncs).toEqual([{ reason: 'replay_timeout', from: 1, to: 1, missed: 1 }])
    expect(seqs).toEqual([2])
    expect(errors.map((e) => e.message)).toEqual(['frame of 350 bytes is over maxMessageBytes (200)', 'frame of 350 bytes is over maxMessageBytes (200)'])
    socket.frame(event(3))
    expect(seqs).toEqual([2, 3])
  })
})

describe('reorder buffer: replay.maxBuffer', () => {
  it('one event past a full buffer gives the oldest hole up at once (buffer_full) and delivers what it held', async () => {
    const { c, socket, resyncs, seqs } = await open({ replay: { maxBuffer: 3, timeout: 60_000 } })
    for (const seq of [1, 3, 4, 5]) socket.frame(event(seq))
    expect(seqs).toEqual([1])
    expect(socket.messages('replay')).toEqual([{ type: 'replay', after: 1 }])
    socket.frame(event(6))
    expect(resyncs).toEqual([{ reason: 'buffer_full', from: 2, to: 2, missed: 1 }])
    expect(seqs).toEqual([1, 3, 4, 5, 6])
    // the replay answer comes too late: the given-up seq is a duplicate, not delivered
    socket.frame(event(2))
    socket.frame(event(7))
    expect(seqs).toEqual([1, 3, 4, 5, 6, 7])
    expect(c.stats).toMatchObject({ messages: 6, duplicates: 1, resyncs: 1 })
  })

  it('a server that never fills its holes: the client never holds more than maxBuffer events, while its replay is outstanding or not', async () => {
    const maxBuffer = 10
    const { socket, resyncs, seqs, errors } = await open({ replay: { maxBuffer, timeout: 60_000 } })
    socket.frame(event(1))
    let sent = 1
    // every other seq is missing: each event opens a hole of its own
    for (let seq = 3; seq <= 2001; seq += 2) {
      socket.frame(event(seq))
      sent++
      expect(sent - seqs.length, `events held after seq ${seq}`).toBeLessThanOrEqual(maxBuffer)
    }
    expect(sent - seqs.length).toBe(maxBuffer)
    // each event past the full buffer gave one hole up: 1000 holes, 990 given up so far
    expect(resyncs).toHaveLength(990)
    expect(resyncs.every((r) => r.reason === 'buffer_full' && r.missed === 1 && r.from === r.to)).toBe(true)
    // the ten still held are released when their hole times out
    await vi.advanceTimersByTimeAsync(60_000)
    expect(seqs).toHaveLength(sent)
    expect(resyncs.at(-1)).toEqual({ reason: 'replay_timeout', from: 1982, to: 2000, missed: 10 })
    expect(errors).toEqual([])
  })

  it('after a drop, what is held waits for the resumed session: still at most maxBuffer, nothing delivered twice', async () => {
    let head = 0
    const server = scriptedServer()
    autoWelcome(server, () => head)
    const { socket, resyncs, seqs } = await open({ replay: { maxBuffer: 4, timeout: 60_000 } }, server)
    socket.frame(event(1))
    for (const seq of [3, 4, 5, 6]) socket.frame(event(seq))
    head = 6
    socket.serverClose(1006)
    await vi.advanceTimersByTimeAsync(RECONNECTED)
    const resumed = server.last!
    expect(resumed.messages('hello')).toEqual([{ type: 'hello', session: 's1', after: 1, events: [], v: 1 }])
    // the server replays 2..6, then goes on
    for (const seq of [2, 3, 4, 5, 6, 7]) resumed.frame(event(seq))
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(resyncs).toEqual([])
  })
})

describe('acks held while nothing can carry them: 1000', () => {
  it('past 1000 the oldest is dropped with an overflow error; the 1000 newest go out once the next session starts', async () => {
    const { c, server, socket, errors, seqs } = await open()
    // the socket is closing: events still arrive and are delivered, but no ack can be sent
    socket.closing()
    for (let seq = 1; seq <= 1003; seq++) socket.frame(event(seq, { ack: true }))
    expect(seqs).toHaveLength(1003)
    expect(errors.map((e) => [e.code, e.message])).toEqual(
      Array.from({ length: 3 }, () => ['overflow', 'more than 1000 acks waiting for a link: the oldest was dropped']),
    )
    expect(socket.messages('ack')).toEqual([])
    socket.serverClose(1006)
    await vi.advanceTimersByTimeAsync(RECONNECTED)
    expect(c.status).toBe('open')
    expect(server.last!.messages('ack').map((m) => m.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 4))
  })
})

describe('poll outbox: 100 messages', () => {
  it('acks that cannot be posted: past 100 the oldest are dropped with overflow errors; the next POST carries the 100 newest', async () => {
    vi.stubGlobal('WebSocket', undefined)
    const posts: { status: number; acks: number[] }[] = []
    let postStatus = 500
    let answered = false
    const fetchStub = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === 'POST') {
        const body = JSON.parse(String(init.body)) as { messages: { seq: number }[] }
        posts.push({ status: postStatus, acks: body.messages.map((m) => m.seq) })
        return new Response(null, { status: postStatus })
      }
      // the first poll brings 150 events that ask for an ack; the next ones nothing
      const events = answered ? [] : Array.from({ length: 150 }, (_, i) => event(i + 1, { ack: true }))
      answered = true
      return Response.json({ session: 's1', resumed: false, seq: 150, events })
    }) as typeof fetch
    const c = new RealtimeClient({ url: 'wss://api.test/ws', pollUrl: 'https://api.test/poll', fetch: fetchStub, dedupe: false, polling: { interval: 100 } })
    clients.push(c)
    const errors: RealtimeError[] = []
    c.on('error', (e) => errors.push(e))
    await vi.advanceTimersByTimeAsync(0)
    expect(c.stats.messages).toBe(150)
    // ack 1 went in the first POST (it failed); 2..150 queued, 49 over the bound; the failed batch
    // put back in front of a full outbox pushed one more out
    expect(posts).toEqual([{ status: 500, acks: [1] }])
    expect(errors.map((e) => e.code)).toEqual(Array.from({ length: 50 }, () => 'overflow'))
    expect(errors.slice(0, 49).every((e) => e.message === 'poll outbox full (100): 1 oldest dropped')).toBe(true)
    expect(errors[49]!.message).toBe('poll outbox full (100): 1 oldest dropped')
    postStatus = 204
    await vi.advanceTimersByTimeAsync(100)
    expect(posts.slice(1)).toEqual([{ status: 204, acks: Array.from({ length: 100 }, (_, i) => i + 51) }])
    expect(errors).toHaveLength(50)
  })
})

describe('the WebSocket path queues nothing', () => {
  it('refresh() and subscribe() while no session is up: one refresh and one subscribe once welcome comes', async () => {
    const server = scriptedServer()
    let welcome = false
    server.onSocket = (s) => queueMicrotask(() => s.open())
    server.onSend = (s, m) => m.type === 'hello' && welcome && queueMicrotask(() => s.frame({ type: 'welcome', session: 's1', resumed: false, seq: 0 }))
    const c = new RealtimeClient({ url: 'wss://api.test/ws', WebSocket: server.WebSocket, dedupe: false, reconnect: RECONNECT, heartbeat: { interval: 0 } })
    clients.push(c)
    await vi.advanceTimersByTimeAsync(0)
    const socket = server.last!
    expect(socket.messages()).toEqual([{ type: 'hello', session: null, after: null, events: [], v: 1 }])
    // the socket is open, the session is not: nothing may go out yet, and nothing piles up
    for (let i = 0; i < 1000; i++) c.refresh()
    const patterns = Array.from({ length: 300 }, (_, i) => `topic.${i}`)
    for (const p of patterns) c.subscribe(p)
    expect(socket.sent).toHaveLength(1)
    welcome = true
    socket.frame({ type: 'welcome', session: 's1', resumed: false, seq: 0 })
    expect(socket.messages().slice(1)).toEqual([{ type: 'subscribe', events: patterns }, { type: 'refresh' }])

    // the link is down: the same again, and the next hello carries the whole set
    socket.serverClose(1006)
    for (let i = 0; i < 1000; i++) c.refresh()
    c.subscribe('late')
    await vi.advanceTimersByTimeAsync(RECONNECTED)
    expect(c.status).toBe('open')
    expect(server.last!.messages()).toEqual([
      { type: 'hello', session: 's1', after: 0, events: [...patterns, 'late'], v: 1 },
      { type: 'refresh' },
    ])
  })
})

