/**
 * Property-based fuzzing of the whole inbound path (socket → transport → decoder → sequencer →
 * handles), through the public API only: a client whose `WebSocket` is a scripted socket, played
 * by a model server that fast-check drives with random interleavings of valid events (in order,
 * duplicated, out of order, past holes, replayed, given up by `replay_failed`), garbage frames,
 * dropped sockets and passing time.
 *
 * The model server numbers its events 1..H in one session, each seq with a fixed name and payload.
 * It answers `hello` with `welcome` (resuming the session), records every replay the client asks
 * for (`replay`, or `hello.after` on a resume), and answers them when the script says so, with
 * every event after `after` up to its head. At the end it settles: it answers every outstanding
 * request and lets `replay.timeout` pass, until the client has nothing left to wait for.
 *
 * Invariants, checked after every run:
 * - nothing escapes: no exception out of the client's socket handlers, no unhandled rejection;
 * - delivered seqs are strictly increasing (so no duplicate), each ≤ H, each with the name and
 *   payload the server gave it (a `__proto__` key removed), to '*' and to the listener of its name;
 * - exact accounting: delivered + Σ resync.missed = H, every resync names a range inside 1..H whose
 *   ends were not delivered, and every seq past the last resync's `to` was delivered;
 * - with no `replay_failed`, no hole left to time out and a buffer large enough (the second
 *   property), nothing is lost: exactly 1..H, no resync;
 * - exact error accounting: one `invalid_message` per garbage frame and per frame that carried a
 *   `__proto__` key, one `server` per server `error`, one `listener` per event whose listener threw,
 *   and nothing else; one `pong` per `ping`; every delivered event that asked for an ack was acked;
 * - a closed client leaves no timer behind, and `Object.prototype` is untouched.
 *
 * The seed is random and printed by fast-check when a run fails; `FUZZ_SEED=<n>` replays it.
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { RealtimeError } from '../../src/errors.js'
import type { EventMeta, ResyncInfo } from '../../src/types.js'
import { type ScriptedServer, type ScriptedSocket, scriptedServer } from './scripted-socket.js'

/** fast-check's settings: a random seed (printed on failure) unless `FUZZ_SEED` fixes it. */
const seeded = (numRuns: number): { numRuns: number; seed?: number } =>
  process.env.FUZZ_SEED ? { numRuns, seed: Number(process.env.FUZZ_SEED) } : { numRuns }

/** Event names, one per seq in turn: plain ones and the names of `Object.prototype` members. */
const NAMES = ['alert', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'jobs.42.log'] as const
/** The name whose listener throws. */
const THROWING = 'toString'
const REPLAY_TIMEOUT = 400
/** Longer than all the waits of a script put together: no hole can time out. */
const LOSSLESS_TIMEOUT = 60_000
const RECONNECT = { minDelay: 10, maxDelay: 40, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 1000 }

const nameOf = (seq: number): string => NAMES[seq % NAMES.length]!
const asksAck = (seq: number): boolean => seq % 3 === 0
/** Every fifth payload carries a `__proto__` key (removed and reported), every seventh a `constructor.prototype`. */
const carriesProto = (seq: number): boolean => seq % 5 === 0
function payloadText(seq: number): string {
  if (carriesProto(seq)) return `{"n":${seq},"__proto__":{"polluted":true}}`
  if (seq % 7 === 0) return `{"n":${seq},"constructor":{"prototype":{"polluted":true}}}`
  return `{"n":${seq}}`
}
/** What the app must get as `data` for seq. */
const expectedData = (seq: number): unknown => JSON.parse(payloadText(seq).replace(',"__proto__":{"polluted":true}', ''))
function eventFrame(seq: number): string {
  return `{"type":"event","seq":${seq},"event":${JSON.stringify(nameOf(seq))},"data":${payloadText(seq)}${asksAck(seq) ? ',"ack":true' : ''},"ts":${1_700_000_000_000 + seq}}`
}

// ---- garbage: frames whose outcome is known exactly ----

/** Frames that are each exactly one `invalid_message`, and change nothing else. */
const invalidFrame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  // not JSON, or JSON that is no object (anything that does not start with `{`)
  fc.string({ maxLength: 40 }).filter((s) => !s.trimStart().startsWith('{')),
  fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !s.trimStart().startsWith('{')),
  fc.json({ maxDepth: 2 }).filter((s) => !s.trimStart().startsWith('{')),
  // a valid event cut short: a proper prefix of an object's text is never JSON
  fc.tuple(fc.integer({ min: 1, max: 60 }), fc.nat()).map(([seq, at]) => {
    const f = eventFrame(seq)
    return f.slice(0, at % f.length)
  }),
  // known messages with a field of the wrong type, huge and non-finite numbers among them
  fc.constantFrom(
    '{"type":"event","seq":"1","event":"alert","data":{}}',
    '{"type":"event","seq":-1,"event":"alert","data":{}}',
    '{"type":"event","seq":1.5,"event":"alert","data":{}}',
    '{"type":"event","seq":9007199254740993,"event":"alert","data":{}}',
    '{"type":"event","seq":1e400,"event":"alert","data":{}}',
    '{"type":"event","seq":1e20,"event":"alert","data":{}}',
    '{"type":"event","seq":2,"event":7,"data":{}}',
    '{"type":"event","seq":2,"event":null,"data":{}}',
    '{"type":"event","seq":2,"event":{"__proto__":"x"},"data":{}}',
    '{"type":"event","seq":2,"event":"alert","ts":"now"}',
    '{"type":"event","seq":2,"event":"alert","ts":1e400}',
    '{"type":"event","seq":2,"event":"alert","ack":"yes"}',
    '{"type":"welcome","session":1,"resumed":true,"seq":0}',
    '{"type":"welcome","session":"s1","resumed":"yes","seq":0}',
    '{"type":"replay_failed","after":1}',
    '{"type":"replay_failed","after":0,"seq":-3}',
    '{"type":"ping","id":{}}',
    '{"type":"pong","id":[1]}',
    '{"type":"error","code":"x"}',
    '{"type":7}',
    '{"seq":1,"event":"alert"}',
    '{"__proto__":{"type":"event"},"seq":1,"event":"alert"}',
    '{"\\u005f_proto__":{"type":"event"}}',
  ),
  // binary frames
  fc.uint8Array({ minLength: 0, maxLength: 16 }),
)

/** Frames of a type the client does not know, names of prototype members included: ignored, no error. */
const ignoredFrame = fc.constantFrom(
  '{"type":"notice","text":"hi"}',
  '{"type":"__proto__","seq":1}',
  '{"type":"constructor","prototype":{"polluted":true}}',
  '{"type":"toString"}',
  '{"type":"hasOwnProperty","event":"alert"}',
  '{"type":"valueOf"}',
)

// ---- the script ----

type Step =
  | { kind: 'next'; count: number }
  | { kind: 'skip'; by: number }
  | { kind: 'reversed'; count: number }
  | { kind: 'again'; pick: number; count: number }
  | { kind: 'invalid'; frame: string | Uint8Array }
  | { kind: 'ignored'; frame: string }
  | { kind: 'serverError' }
  | { kind: 'ping'; id: number | string }
  | { kind: 'replayFailed' }
  | { kind: 'answer' }
  | { kind: 'wait'; ms: number }
  | { kind: 'drop'; code: number }

const steps = (lossy: boolean): fc.Arbitrary<Step[]> => {
  const always: fc.WeightedArbitrary<Step>[] = [
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }).map((count) => ({ kind: 'next' as const, count })) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }).map((by) => ({ kind: 'skip' as const, by })) },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: 5 }).map((count) => ({ kind: 'reversed' as const, count })) },
    { weight: 3, arbitrary: fc.record({ pick: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }).map((r) => ({ kind: 'again' as const, ...r })) },
    { weight: 3, arbitrary: invalidFrame.map((frame) => ({ kind: 'invalid' as const, frame })) },
    { weight: 1, arbitrary: ignoredFrame.map((frame) => ({ kind: 'ignored' as const, frame })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'serverError' as const }) },
    { weight: 1, arbitrary: fc.oneof(fc.nat(), fc.string({ maxLength: 8 })).map((id) => ({ kind: 'ping' as const, id })) },
    { weight: 3, arbitrary: fc.constant({ kind: 'answer' as const }) },
    { weight: 1, arbitrary: fc.constantFrom(1000, 1001, 1006, 1011).map((code) => ({ kind: 'drop' as const, code })) },
    // waits shorter than the replay timeout (a reconnect after a drop needs one of these)
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 60 }).map((ms) => ({ kind: 'wait' as const, ms })) },
  ]
  const lossyOnly: fc.WeightedArbitrary<Step>[] = [
    { weight: 1, arbitrary: fc.constant({ kind: 'replayFailed' as const }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: REPLAY_TIMEOUT * 2 }).map((ms) => ({ kind: 'wait' as const, ms })) },
  ]
  return fc.array(fc.oneof(...always, ...(lossy ? lossyOnly : [])), { minLength: 1, maxLength: 100, size: 'medium' })
}

// ---- one run ----

interface Delivered {
  seq: number
  event: string
  data: unknown
  ts: number | undefined
}

async function run(script: Step[], replay: { maxBuffer: number; timeout: number }): Promise<{ check: (lossless: boolean) => void }> {
  const server: ScriptedServer = scriptedServer()
  let head = 0
  /** `after` of each replay the current socket asked for and was not answered yet. */
  let requests: number[] = []
  /** The socket that got its `welcome`; frames go nowhere while there is none. */
  let live: ScriptedSocket | undefined
  const expected = { invalid: 0, server: 0, pings: 0 }

  server.onSocket = (s) => queueMicrotask(() => s.readyState === 0 && s.open())
  server.onSend = (s, m) => {
    if (m.type === 'hello') {
      const resumed = m.session === 's1'
      queueMicrotask(() => {
        if (s.readyState !== 1) return
        // a resumed session: the server resends what followed `after` (when the script says so)
        if (resumed && typeof m.after === 'number' && m.after < head) requests.push(m.after)
        s.frame({ type: 'welcome', v: 1, session: 's1', resumed, seq: head })
        live = s
      })
    } else if (m.type === 'replay') requests.push(m.after as number)
  }

  const send = (frame: string | Uint8Array): boolean => {
    if (live?.readyState !== 1) return false
    live.frame(frame)
    return true
  }
  const sendEvent = (seq: number): void => {
    if (send(eventFrame(seq)) && carriesProto(seq)) expected.invalid++
  }
  const answer = (after: number): void => {
    for (let s = after + 1; s <= head; s++) sendEvent(s)
  }

  const c = new RealtimeClient({
    url: 'wss://fuzz.test/ws',
    WebSocket: server.WebSocket,
    dedupe: false,
    reconnect: RECONNECT,
    heartbeat: { interval: 0 },
    replay,
  })
  const delivered: Delivered[] = []
  const byName = new Map<string, number[]>()
  const errors: RealtimeError[] = []
  const resyncs: ResyncInfo[] = []
  c.on('error', (e) => errors.push(e))
  c.on('resync', (r) => resyncs.push(r))
  c.on('*', (data: unknown, meta: EventMeta) => delivered.push({ seq: meta.seq, event: meta.event, data, ts: meta.ts }))
  const named = c as unknown as RealtimeClient
  for (const name of NAMES) {
    byName.set(name, [])
    named.on(name, (_data: unknown, meta: EventMeta) => {
      byName.get(name)!.push(meta.seq)
      if (name === THROWING) throw new Error(`listener of ${name} threw`)
    })
  }

  await vi.advanceTimersByTimeAsync(0)
  expect(c.status).toBe('open')

  for (const step of script) {
    switch (step.kind) {
      case 'next':
        for (let i = 0; i < step.count; i++) sendEvent(++head)
        break
      case 'skip':
        head += step.by
        sendEvent(head)
        break
      case 'reversed':
        head += step.count
        for (let s = head; s > head - step.count; s--) sendEvent(s)
        break
      case 'again':
        if (head > 0) for (let i = 0; i < step.count; i++) sendEvent(1 + ((step.pick + i) % head))
        break
      case 'invalid':
        if (send(step.frame)) expected.invalid++
        break
      case 'ignored':
        send(step.frame)
        break
      case 'serverError':
        if (send('{"type":"error","code":"busy","message":"try later"}')) expected.server++
        break
      case 'ping':
        if (send(JSON.stringify({ type: 'ping', id: step.id }))) expected.pings++
        break
      case 'replayFailed':
        send(JSON.stringify({ type: 'replay_failed', after: 0, seq: head }))
        break
      case 'answer': {
        const after = requests.shift()
        if (after !== undefined) answer(after)
        break
      }
      case 'wait':
        await vi.advanceTimersByTimeAsync(step.ms)
        break
      case 'drop':
        if (live) {
          const s = live
          live = undefined
          requests = []
          s.serverClose(step.code)
        }
        break
    }
    await vi.advanceTimersByTimeAsync(0)
  }

  // settle: a link, every outstanding request answered, the replay timeout passed, until nothing is left
  for (let round = 0; round < 50; round++) {
    if (!live || live.readyState !== 1) {
      await vi.advanceTimersByTimeAsync(RECONNECT.maxDelay)
      continue
    }
    const open = requests
    requests = []
    for (const after of open) answer(after)
    await vi.advanceTimersByTimeAsync(replay.timeout + 1)
    if (open.length === 0 && requests.length === 0) break
  }
  expect(live?.readyState, 'the link settled').toBe(1)

  const pongs = server.sockets.flatMap((s) => s.messages('pong'))
  const acked = new Set(server.sockets.flatMap((s) => s.messages('ack').map((m) => m.seq as number)))
  const stats = c.stats
  c.close()
  await vi.advanceTimersByTimeAsync(0)
  const timersLeft = vi.getTimerCount()

  return {
    check(lossless) {
      expect(server.escaped, 'exceptions escaped the client').toEqual([])
      expect(timersLeft, 'timers left after close()').toBe(0)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()

      // order, no duplicate, integrity
      const seqs = delivered.map((d) => d.seq)
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]!, `delivery order ${seqs.join(',')}`).toBeGreaterThan(seqs[i - 1]!)
      for (const d of delivered) {
        expect(d.seq).toBeLessThanOrEqual(head)
        expect(d).toEqual({ seq: d.seq, event: nameOf(d.seq), data: expectedData(d.seq), ts: 1_700_000_000_000 + d.seq })
        expect(Object.getPrototypeOf(d.data)).toBe(Object.prototype)
        expect(Object.hasOwn(d.data as object, '__proto__')).toBe(false)
      }
      for (const name of NAMES) expect(byName.get(name), `listener of ${name}`).toEqual(delivered.filter((d) => d.event === name).map((d) => d.seq))

      // accounting: every seq 1..head delivered or reported missing, exactly once
      const missed = resyncs.reduce((n, r) => n + (r.missed ?? Number.NaN), 0)
      expect(seqs.length + missed, `delivered ${seqs.length} + missed ${missed} = head ${head}`).toBe(head)
      const got = new Set(seqs)
      for (const r of resyncs) {
        expect(r.reason).not.toBe('new_session')
        expect(r.to).not.toBeNull()
        expect(r.from).toBeGreaterThanOrEqual(1)
        expect(r.to!).toBeLessThanOrEqual(head)
        expect(r.missed!).toBeGreaterThanOrEqual(1)
        expect(r.missed!).toBeLessThanOrEqual(r.to! - r.from + 1)
        expect(got.has(r.from) || got.has(r.to!), `resync ${JSON.stringify(r)} names delivered seqs`).toBe(false)
      }
      const resumeFrom = Math.max(0, ...resyncs.map((r) => r.to!)) + 1
      for (let s = resumeFrom; s <= head; s++) expect(got.has(s), `seq ${s}, after the last resync, was delivered`).toBe(true)
      expect(stats.resyncs).toBe(resyncs.length)
      expect(stats.messages).toBe(delivered.length)
      if (lossless) {
        expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1))
        expect(resyncs).toEqual([])
      }

      // errors, exactly
      const count = (code: string): number => errors.filter((e) => e.code === code).length
      expect(count('invalid_message'), 'invalid_message errors').toBe(expected.invalid)
      expect(count('server'), 'server errors').toBe(expected.server)
      expect(count('listener'), 'listener errors').toBe(byName.get(THROWING)!.length)
      expect(errors.length, errors.map((e) => `${e.code}: ${e.message}`).join('\n')).toBe(expected.invalid + expected.server + count('listener'))

      // the client's side of the conversation
      expect(pongs).toHaveLength(expected.pings)
      for (const d of delivered) if (asksAck(d.seq)) expect(acked.has(d.seq), `ack of ${d.seq}`).toBe(true)
      for (const s of acked) expect(s).toBeLessThanOrEqual(head)
    },
  }
}

const rejections: unknown[] = []
const onRejection = (reason: unknown): void => void rejections.push(reason)

beforeEach(() => {
  vi.useFakeTimers()
  rejections.length = 0
  process.on('unhandledRejection', onRejection)
})
afterEach(() => {
  process.off('unhandledRejection', onRejection)
  vi.useRealTimers()
})

describe('fuzzing the inbound path', () => {
  it('whatever the server sends: no exception, strict order, exact accounting of every seq and every error', async () => {
    await fc.assert(
      fc.asyncProperty(steps(true), fc.integer({ min: 1, max: 8 }), async (script, maxBuffer) => {
        const { check } = await run(script, { maxBuffer, timeout: REPLAY_TIMEOUT })
        check(false)
      }),
      seeded(300),
    )
    expect(rejections).toEqual([])
  })

  it('a server that answers every replay loses nothing: exactly 1..H, in order, no resync', async () => {
    await fc.assert(
      fc.asyncProperty(steps(false), async (script) => {
        const { check } = await run(script, { maxBuffer: 10_000, timeout: LOSSLESS_TIMEOUT })
        check(true)
      }),
      seeded(300),
    )
    expect(rejections).toEqual([])
  })
})
