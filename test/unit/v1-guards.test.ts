/**
 * The hand-written guards of `v1.ts` against the zod schemas of `v1-schema.ts`: for every frame,
 * `decode` accepts exactly when `serverMessage` does (an unknown `type` is ignored: null), and
 * produces the schema's output, with two differences that are part of the design:
 *   - the guard drops `v` from `welcome` (the client has no use for it; the schema keeps it);
 *   - the guard removes every own `__proto__` key and says so in `warning` (the schema keeps it).
 * An `event` without `data` carries `data: undefined` from the guard and no `data` key from the
 * schema; both mean the same to the app. A frame the schema rejects gets an error that names its
 * type and a field the schema finds wrong.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Decoded, Inbound, PollResult } from '../../src/protocol/types.js'
import { v1Protocol } from '../../src/protocol/v1.js'
import { pollResponse, serverMessage } from '../../src/protocol/v1-schema.js'

type Obj = Record<string, unknown>

const KNOWN_TYPES = ['welcome', 'event', 'replay_failed', 'ping', 'pong', 'auth_ok', 'error'] as const
type Known = (typeof KNOWN_TYPES)[number]

const FRAME_WARNING = 'a "__proto__" key was removed from the frame'
const POLL_WARNING = 'a "__proto__" key was removed from the poll response'

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Whether a parsed JSON value holds an own `__proto__` key anywhere. */
function hasProtoKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasProtoKey)
  if (!isObj(v)) return false
  return Object.keys(v).some((k) => k === '__proto__' || hasProtoKey(v[k]))
}

/** A deep copy without own `__proto__` keys. */
function withoutProtoKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutProtoKeys)
  if (!isObj(v)) return v
  const out: Obj = {}
  for (const k of Object.keys(v)) if (k !== '__proto__') out[k] = withoutProtoKeys(v[k])
  return out
}

/** Every object in the value is a plain object or array with the standard prototype. */
function expectPlainPrototypes(v: unknown, path = '$'): void {
  if (Array.isArray(v)) {
    expect(Object.getPrototypeOf(v), path).toBe(Array.prototype)
    v.forEach((x, i) => expectPlainPrototypes(x, `${path}[${i}]`))
  } else if (typeof v === 'object' && v !== null) {
    expect(Object.getPrototypeOf(v), path).toBe(Object.prototype)
    expect(Object.hasOwn(v, '__proto__'), `${path} has an own __proto__ key`).toBe(false)
    for (const [k, x] of Object.entries(v)) expectPlainPrototypes(x, `${path}.${k}`)
  }
}

/** The guard's view of one event the schema accepted. */
function asGuardEvent(e: unknown): Obj {
  const out = withoutProtoKeys(e) as Obj
  if (!('data' in out)) out.data = undefined
  return out
}

/**
 * `decode` in the terms these tests compare with the schemas: `decode` returns the message itself,
 * an `invalid` message (with `value` when the frame was repaired), or null.
 */
function decodeFrame(frame: string): Decoded<Inbound> {
  const m = v1Protocol.decode(frame)
  if (m === null) return null
  if (m.type !== 'invalid') return { ok: true, value: m }
  return m.value ? { ok: true, value: m.value, warning: m.error } : { ok: false, error: m.error }
}

/** What `decode` must return for `frame`, worked out from the zod schema. */
function expectedDecode(frame: string): Decoded<Inbound> | 'error' {
  let json: unknown
  try {
    json = JSON.parse(frame)
  } catch {
    return 'error'
  }
  if (isObj(json) && typeof json.type === 'string' && !(KNOWN_TYPES as readonly string[]).includes(json.type)) {
    expect(serverMessage.safeParse(json).success).toBe(false)
    return null
  }
  const parsed = serverMessage.safeParse(json)
  if (!parsed.success) return 'error'
  const value = parsed.data.type === 'event' ? asGuardEvent(parsed.data) : (withoutProtoKeys(parsed.data) as Obj)
  if (value.type === 'welcome') delete value.v
  return hasProtoKey(json) ? { ok: true, value: value as Inbound, warning: FRAME_WARNING } : { ok: true, value: value as Inbound }
}

/**
 * The fields the schema finds wrong in `json`: `decode` must name the type and one of them, as
 * `invalid "<type>" message: "<field>" must be ...`. Null when the frame is not a JSON object
 * with a known type (no field to name).
 */
function wrongFields(frame: string): string[] | null {
  let json: unknown
  try {
    json = JSON.parse(frame)
  } catch {
    return null
  }
  if (!isObj(json) || !(KNOWN_TYPES as readonly unknown[]).includes(json.type)) return null
  const parsed = serverMessage.safeParse(json)
  return parsed.success ? null : parsed.error.issues.map((issue) => String(issue.path[0]))
}

const FIELD_ERROR = /^invalid "([a-z_]+)" message: "([a-z]+)" must be (an? [a-z -]+)$/

/** decode(frame) agrees with the schema; returns whether it was accepted. */
function checkFrame(frame: string): 'ok' | 'error' | 'null' {
  let got: Decoded<Inbound> | undefined
  expect(() => (got = decodeFrame(frame)), frame).not.toThrow()
  const want = expectedDecode(frame)
  if (want === 'error') {
    expect(got, frame).toMatchObject({ ok: false })
    const error = (got as { error: unknown }).error
    expect(typeof error, frame).toBe('string')
    expect((error as string).length, frame).toBeLessThan(200)
    const fields = wrongFields(frame)
    if (fields) {
      const [, type, field] = FIELD_ERROR.exec(error as string) ?? []
      expect(type, `${frame} -> ${String(error)}`).toBe((JSON.parse(frame) as Obj).type)
      expect(fields, `${frame} -> ${String(error)}`).toContain(field)
    }
    return 'error'
  }
  expect(got, frame).toStrictEqual(want)
  if (want === null) return 'null'
  expectPlainPrototypes((got as { value: unknown }).value)
  return 'ok'
}

/** What `decodePoll` must return for `body`, worked out from the zod schema. */
function expectedPoll(body: string): Decoded<PollResult> | 'error' {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return 'error'
  }
  const parsed = pollResponse.safeParse(json)
  if (!parsed.success) return 'error'
  const { session, resumed, seq, events } = parsed.data
  const value = { session, resumed, seq, events: events.map(asGuardEvent) } as unknown as PollResult
  return hasProtoKey(json) ? { ok: true, value, warning: POLL_WARNING } : { ok: true, value }
}

function checkPoll(body: string): 'ok' | 'error' {
  let got: Decoded<PollResult> | undefined
  expect(() => (got = v1Protocol.http!.decodePoll(body)), body).not.toThrow()
  const want = expectedPoll(body)
  if (want === 'error') {
    expect(got, body).toMatchObject({ ok: false })
    const error = (got as { error: unknown }).error
    expect(typeof error, body).toBe('string')
    const [, field] = /^invalid poll response: "([a-z]+)" must be an? [a-z -]+$/.exec(error as string) ?? []
    if (field !== undefined) {
      // a field of the answer itself: the schema finds that very field wrong
      const issues = pollResponse.safeParse(JSON.parse(body)).error?.issues ?? []
      expect(issues.map((issue) => issue.path.length === 1 && issue.path[0]), `${body} -> ${String(error)}`).toContain(field)
    } else {
      expect(error, body).toMatch(/^(poll response is not a JSON object|invalid event in poll response: .+)$/)
    }
    return 'error'
  }
  expect(got, body).toStrictEqual(want)
  expectPlainPrototypes((got as { value: unknown }).value)
  return 'ok'
}

// ---- the corpus ----

/** One valid message of each type, with every optional field. */
const FULL: Record<Known, Obj> = {
  welcome: { type: 'welcome', v: 1, session: 's-7f3', resumed: true, seq: 41, heartbeat: 30000 },
  event: { type: 'event', seq: 42, event: 'alert', data: { id: '1', severity: 'high' }, ts: 1767225600000, ack: true },
  replay_failed: { type: 'replay_failed', after: 41, seq: 160 },
  ping: { type: 'ping', id: 3 },
  pong: { type: 'pong', id: 'p-7' },
  auth_ok: { type: 'auth_ok', expires: 1767229200000 },
  error: { type: 'error', code: 'bad_request', message: 'unknown pattern' },
}

/** Field values as raw JSON text, so that `-0` and `1e400` (Infinity once parsed) are in. */
const RAW_VALUES = [
  'null', 'true', 'false', '0', '-0', '1', '-1', '0.5', '1.5', '41', '1e3', '9007199254740991', '9007199254740992',
  '1e400', '-1e400', '""', '"x"', '"1"', '"true"', '[]', '[1]', '{}', '{"a":1}',
]

/** A frame from raw `key: json` pairs, in order (repeated keys are allowed: the last one wins). */
const frameOf = (pairs: readonly (readonly [string, string])[]): string =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`

const pairsOf = (m: Obj): [string, string][] => Object.entries(m).map(([k, v]) => [k, JSON.stringify(v)])

function corpus(): Record<string, string[]> {
  const wrongTypes: string[] = []
  const missing: string[] = []
  const extra: string[] = []
  for (const m of Object.values(FULL)) {
    const pairs = pairsOf(m)
    for (const [key] of pairs) {
      for (const raw of RAW_VALUES) wrongTypes.push(frameOf(pairs.map(([k, v]) => [k, k === key ? raw : v])))
      missing.push(frameOf(pairs.filter(([k]) => k !== key)))
    }
    extra.push(
      frameOf([...pairs, ['extra', '1']]),
      frameOf([...pairs, ['nested', '{"deep":[1,{"x":null}]}'], ['x', '"y"']]),
      frameOf([['zzz', 'true'], ...pairs]),
      // fields that belong to other message types
      frameOf([...pairs, ['code', '5'], ['after', '"no"'], ['heartbeat', '-1'], ['events', '{}']]),
      // a repeated key: the last value wins
      frameOf([...pairs, ['type', JSON.stringify(m.type)]]),
    )
  }
  // the minimal valid form of each type (no optional field)
  const minimal = [
    '{"type":"welcome","session":"s","resumed":false,"seq":0}',
    '{"type":"event","seq":0,"event":"a","data":null}',
    '{"type":"event","seq":1,"event":"a"}',
    '{"type":"replay_failed","after":0,"seq":0}',
    '{"type":"ping","id":0}',
    '{"type":"pong","id":""}',
    '{"type":"auth_ok"}',
    '{"type":"error","code":"","message":""}',
    '{"type":"welcome","v":2,"session":"","resumed":true,"seq":9007199254740991,"heartbeat":0.5}',
    '{"type":"event","seq":1.0,"event":"a","data":[1,"two",{"three":3}],"ts":-1.5,"ack":false}',
  ]
  const notObjects = ['null', '42', '-1', '"ping"', 'true', '[]', '[{"type":"ping","id":1}]', '""', '{}', '{"type":null}', '{"type":1}', '{"type":["ping"]}', '{"type":{"0":"p"}}', '{"id":1}']
  const notJson = ['', ' ', '{', '}', 'undefined', 'NaN', "{'type':'ping','id':1}", '{"type":"ping","id":1,}', '{"type":"ping" "id":1}', '{"type":"ping","id":01}', '\u0000', '{"type":"ping","id":1}{"type":"ping","id":2}', '[1,]']
  const unknownTypes = ['welcomed', 'Event', 'PING', '', ' ', 'event ', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'subscribe', 'hello', 'x'.repeat(10000)].flatMap((type) => [
    frameOf([['type', JSON.stringify(type)]]),
    frameOf([['type', JSON.stringify(type)], ['seq', '"not even checked"']]),
  ])
  const protoKeys = [
    '{"type":"event","seq":1,"event":"a","data":{"__proto__":{"polluted":true},"ok":1}}',
    '{"type":"event","seq":1,"event":"a","data":{"list":[{"__proto__":{"polluted":true},"x":1},{"y":{"__proto__":null}}]}}',
    '{"type":"event","seq":1,"event":"a","data":{"__proto__":1}}',
    '{"type":"event","seq":1,"event":"a","data":[{"__proto__":[]}]}',
    '{"__proto__":{"type":"ping","id":1}}',
    '{"type":"ping","id":1,"__proto__":{"polluted":true}}',
    '{"type":"welcome","__proto__":{"session":"s"},"resumed":true,"seq":1}',
    '{"type":"welcome","session":"s","resumed":true,"seq":1,"x":{"__proto__":{"polluted":true}}}',
    // the same keys written with escapes parse to the same `__proto__`
    '{"type":"event","seq":1,"event":"a","data":{"\\u005f_proto__":{"polluted":true},"ok":1}}',
    '{"type":"event","seq":1,"event":"a","data":{"__\\u0070roto__":{"polluted":true}}}',
    '{"type":"event","seq":1,"event":"a","data":{"\\u005F\\u005F\\u0070\\u0072\\u006F\\u0074\\u006F\\u005F\\u005F":{"polluted":true}}}',
    // a __proto__ key in a frame that is invalid for another reason
    '{"type":"event","seq":-1,"event":"a","data":{"__proto__":{}}}',
    // `__proto__` only as a string value, or as part of a longer key: nothing to remove
    '{"type":"event","seq":1,"event":"__proto__","data":"__proto__"}',
    '{"type":"event","seq":1,"event":"a","data":{"__proto__x":1,"x__proto__":2,"\\"__proto__\\"":3}}',
    '{"type":"error","code":"__proto__","message":"\\"__proto__\\" is not allowed"}',
  ]
  return { wrongTypes, missing, extra, minimal, notObjects, notJson, unknownTypes, protoKeys }
}

const CORPUS = corpus()

describe('v1 decode: the guards agree with the zod schemas', () => {
  it.each(Object.keys(CORPUS))('corpus: %s', (name) => {
    const outcomes = { ok: 0, error: 0, null: 0 }
    for (const frame of CORPUS[name]!) outcomes[checkFrame(frame)]++
    expect(outcomes.ok + outcomes.error + outcomes.null).toBe(CORPUS[name]!.length)
  })

  it('the corpus exercises acceptance and rejection of every field of every type', () => {
    for (const m of Object.values(FULL)) {
      for (const key of Object.keys(m)) {
        if (key === 'type') continue
        const outcomes = RAW_VALUES.map((raw) =>
          checkFrame(frameOf(pairsOf(m).map(([k, v]) => [k, k === key ? raw : v]))),
        )
        // `data` takes anything; every other field rejects some of these values
        if (key === 'data') expect(outcomes.every((o) => o === 'ok')).toBe(true)
        else expect(outcomes, `${String(m.type)}.${key}`).toContain('error')
        expect(outcomes, `${String(m.type)}.${key}`).toContain('ok')
      }
    }
  })

  it('decodes each type to the exact internal message (v dropped, unknown fields stripped)', () => {
    const decode = (m: Obj, extra: Obj = {}) => decodeFrame(JSON.stringify({ ...m, ...extra, unknown: { a: 1 } }))
    expect(decode(FULL.welcome)).toStrictEqual({ ok: true, value: { type: 'welcome', session: 's-7f3', resumed: true, seq: 41, heartbeat: 30000 } })
    expect(decode(FULL.event)).toStrictEqual({
      ok: true,
      value: { type: 'event', seq: 42, event: 'alert', data: { id: '1', severity: 'high' }, ts: 1767225600000, ack: true },
    })
    expect(decode(FULL.replay_failed)).toStrictEqual({ ok: true, value: { type: 'replay_failed', after: 41, seq: 160 } })
    expect(decode(FULL.ping)).toStrictEqual({ ok: true, value: { type: 'ping', id: 3 } })
    expect(decode(FULL.pong)).toStrictEqual({ ok: true, value: { type: 'pong', id: 'p-7' } })
    expect(decode(FULL.auth_ok)).toStrictEqual({ ok: true, value: { type: 'auth_ok', expires: 1767229200000 } })
    expect(decode({ type: 'auth_ok' })).toStrictEqual({ ok: true, value: { type: 'auth_ok' } })
    expect(decode(FULL.error)).toStrictEqual({ ok: true, value: { type: 'error', code: 'bad_request', message: 'unknown pattern' } })
    expect(decodeFrame('{"type":"event","seq":7,"event":"tick"}')).toStrictEqual({
      ok: true,
      value: { type: 'event', seq: 7, event: 'tick', data: undefined },
    })
  })

  it('reports what is wrong, in words fit for an error event', () => {
    expect(decodeFrame('not json')).toStrictEqual({ ok: false, error: 'frame is not valid JSON' })
    expect(decodeFrame('[1]')).toStrictEqual({ ok: false, error: 'frame is not an object with a string "type"' })
    expect(decodeFrame('{"type":"event","seq":-1,"event":"a","data":1}')).toStrictEqual({
      ok: false,
      error: 'invalid "event" message: "seq" must be a non-negative integer',
    })
    expect(decodeFrame('{"type":"welcome","session":"s","resumed":true,"seq":1,"heartbeat":0}')).toStrictEqual({
      ok: false,
      error: 'invalid "welcome" message: "heartbeat" must be a positive number',
    })
    expect(decodeFrame('{"type":"ping","id":null}')).toStrictEqual({ ok: false, error: 'invalid "ping" message: "id" must be a number or a string' })
    // every field of every type is named on its own, with what it must be
    const errors: [string, string][] = [
      ['{"type":"welcome","session":1,"resumed":true,"seq":1}', 'invalid "welcome" message: "session" must be a string'],
      ['{"type":"welcome","session":"s","resumed":1,"seq":1}', 'invalid "welcome" message: "resumed" must be a boolean'],
      ['{"type":"welcome","session":"s","resumed":true,"seq":1.5}', 'invalid "welcome" message: "seq" must be a non-negative integer'],
      ['{"type":"welcome","v":"1","session":"s","resumed":true,"seq":1}', 'invalid "welcome" message: "v" must be a number'],
      ['{"type":"event","event":"a"}', 'invalid "event" message: "seq" must be a non-negative integer'],
      ['{"type":"event","seq":1,"event":null}', 'invalid "event" message: "event" must be a string'],
      ['{"type":"event","seq":1,"event":"a","ts":"1"}', 'invalid "event" message: "ts" must be a number'],
      ['{"type":"event","seq":1,"event":"a","ack":1}', 'invalid "event" message: "ack" must be a boolean'],
      ['{"type":"replay_failed","after":-1,"seq":1}', 'invalid "replay_failed" message: "after" must be a non-negative integer'],
      ['{"type":"replay_failed","after":1}', 'invalid "replay_failed" message: "seq" must be a non-negative integer'],
      ['{"type":"pong","id":[]}', 'invalid "pong" message: "id" must be a number or a string'],
      ['{"type":"auth_ok","expires":null}', 'invalid "auth_ok" message: "expires" must be a number'],
      ['{"type":"error","message":"m"}', 'invalid "error" message: "code" must be a string'],
      ['{"type":"error","code":"c","message":false}', 'invalid "error" message: "message" must be a string'],
    ]
    for (const [frame, error] of errors) expect(decodeFrame(frame), frame).toStrictEqual({ ok: false, error })
  })

  it('numbers that JSON turns into Infinity are rejected, as the schema does', () => {
    for (const frame of [
      '{"type":"event","seq":1,"event":"a","data":1,"ts":1e400}',
      '{"type":"welcome","session":"s","resumed":true,"seq":1,"heartbeat":1e400}',
      '{"type":"welcome","v":-1e400,"session":"s","resumed":true,"seq":1}',
      '{"type":"ping","id":1e400}',
      '{"type":"auth_ok","expires":1e400}',
    ]) {
      expect(decodeFrame(frame), frame).toMatchObject({ ok: false })
      expect(checkFrame(frame)).toBe('error')
    }
  })

  it('removes __proto__ keys (also escaped ones) before the app sees the data, and says so', () => {
    for (const frame of CORPUS.protoKeys!.slice(0, 4).concat(CORPUS.protoKeys!.slice(8, 11))) {
      const got = decodeFrame(frame)
      expect(got, frame).toMatchObject({ ok: true, warning: FRAME_WARNING })
      expectPlainPrototypes((got as { value: unknown }).value)
    }
    expect(decodeFrame('{"type":"event","seq":1,"event":"a","data":{"\\u005f_proto__":{"polluted":true},"ok":1}}')).toStrictEqual({
      ok: true,
      value: { type: 'event', seq: 1, event: 'a', data: { ok: 1 } },
      warning: FRAME_WARNING,
    })
    expect(({} as Obj).polluted).toBeUndefined()
  })

  it('does not warn when "__proto__" is only a string value', () => {
    expect(decodeFrame('{"type":"event","seq":1,"event":"__proto__","data":"__proto__"}')).toStrictEqual({
      ok: true,
      value: { type: 'event', seq: 1, event: '__proto__', data: '__proto__' },
    })
  })

  it('returns the message itself, or an `invalid` message saying what is wrong', () => {
    expect(v1Protocol.decode('{"type":"pong","id":1}')).toStrictEqual({ type: 'pong', id: 1 })
    expect(v1Protocol.decode('{"type":"pong"}')).toStrictEqual({ type: 'invalid', error: 'invalid "pong" message: "id" must be a number or a string' })
    expect(v1Protocol.decode('{"type":"pong","id":1,"x":{"__proto__":1}}')).toStrictEqual({
      type: 'invalid',
      error: FRAME_WARNING,
      value: { type: 'pong', id: 1 },
    })
  })

  it('ignores unknown types silently (null), whatever else the frame holds', () => {
    expect(decodeFrame('{"type":"presence","who":["a"]}')).toBeNull()
    expect(decodeFrame('{"type":"constructor"}')).toBeNull()
    expect(decodeFrame('{"type":"__proto__"}')).toBeNull()
  })
})

// ---- property tests ----

const SENTINEL_INF = '@@1e400@@'

/** A JSON value likely to hit the edges of the schemas. */
const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.integer({ min: -5, max: 5 }),
  fc.maxSafeNat(),
  fc.constantFrom(2 ** 53, -0, 0.5, 1e21, SENTINEL_INF, '', '1', 'true', true, false, null, [], {}),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
)

const ALL_KEYS = [...new Set(Object.values(FULL).flatMap((m) => Object.keys(m)))]

type Mutation = { op: 'delete'; key: string } | { op: 'set'; key: string; value: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom(...ALL_KEYS) }),
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...ALL_KEYS), value: edgeValue }),
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom('extra', '__proto__', 'constructor', 'toString'), value: edgeValue }),
  fc.record({ op: fc.constant('set' as const), key: fc.constant('type'), value: fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.string()) }),
)

/** Sets an own property, also for `__proto__`. */
function setOwn(target: Obj, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function mutate(base: Obj, mutations: readonly Mutation[]): Obj {
  const out: Obj = {}
  for (const [k, v] of Object.entries(base)) setOwn(out, k, v)
  for (const m of mutations) {
    if (m.op === 'delete') delete out[m.key]
    else setOwn(out, m.key, m.value)
  }
  return out
}

const toText = (value: unknown): string => JSON.stringify(value).replaceAll(`"${SENTINEL_INF}"`, '1e400')

/** A valid message of a random type with random (valid) field values. */
const validMessage: fc.Arbitrary<Obj> = fc.oneof(
  fc.record(
    { type: fc.constant('welcome'), v: fc.constant(1), session: fc.string(), resumed: fc.boolean(), seq: fc.maxSafeNat(), heartbeat: fc.integer({ min: 1 }) },
    { requiredKeys: ['type', 'session', 'resumed', 'seq'] },
  ),
  fc.record(
    { type: fc.constant('event'), seq: fc.maxSafeNat(), event: fc.string(), data: fc.jsonValue(), ts: fc.integer(), ack: fc.boolean() },
    { requiredKeys: ['type', 'seq', 'event'] },
  ),
  fc.record({ type: fc.constant('replay_failed'), after: fc.maxSafeNat(), seq: fc.maxSafeNat() }),
  fc.record({ type: fc.constantFrom('ping', 'pong'), id: fc.oneof(fc.integer(), fc.string()) }),
  fc.record({ type: fc.constant('auth_ok'), expires: fc.integer() }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('error'), code: fc.string(), message: fc.string() }),
)

const mutatedFrame: fc.Arbitrary<string> = fc
  .tuple(validMessage, fc.array(mutation, { maxLength: 3 }))
  .map(([base, mutations]) => toText(mutate(base, mutations)))

describe('v1 decode: properties', () => {
  it('valid messages are accepted, and agree with the schema', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        expect(checkFrame(toText(m))).toBe('ok')
      }),
      { numRuns: 1000 },
    )
  })

  it('mutated messages: decode accepts exactly what the schema accepts, with the same output', () => {
    fc.assert(
      fc.property(mutatedFrame, (frame) => {
        checkFrame(frame)
      }),
      { numRuns: 3000 },
    )
  })

  it('any JSON value: decode agrees with the schema', () => {
    fc.assert(
      fc.property(fc.json(), (frame) => {
        checkFrame(frame)
      }),
      { numRuns: 1000 },
    )
  })

  it('never throws, whatever the text (garbage, truncated or spliced frames)', () => {
    const spliced = fc
      .tuple(mutatedFrame, fc.nat(), fc.nat(), fc.string({ maxLength: 4 }))
      .map(([frame, a, b, insert]) => {
        const i = a % (frame.length + 1)
        return frame.slice(0, i) + insert + frame.slice(i + (b % 3))
      })
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), spliced), (text) => {
        checkFrame(text)
        expect(() => v1Protocol.http!.decodePoll(text)).not.toThrow()
      }),
      { numRuns: 1500 },
    )
  })
})

// ---- decodePoll ----

const pollOf = (events: unknown[], extra: Obj = {}): Obj => ({ session: 's-7f3', resumed: true, seq: 57, events, ...extra })

describe('v1 decodePoll: the guard agrees with the pollResponse schema', () => {
  it('decodes a poll answer to the exact internal result, unknown fields stripped', () => {
    const body = JSON.stringify(pollOf([FULL.event, { type: 'event', seq: 43, event: 'x', data: null, extra: 1 }], { extra: true }))
    expect(v1Protocol.http!.decodePoll(body)).toStrictEqual({
      ok: true,
      value: {
        session: 's-7f3',
        resumed: true,
        seq: 57,
        events: [
          { type: 'event', seq: 42, event: 'alert', data: { id: '1', severity: 'high' }, ts: 1767225600000, ack: true },
          { type: 'event', seq: 43, event: 'x', data: null },
        ],
      },
    })
    expect(checkPoll(body)).toBe('ok')
  })

  it('reports what is wrong, in words fit for an error event', () => {
    const errors: [string, string][] = [
      ['[]', 'poll response is not a JSON object'],
      ['{"resumed":true,"seq":3,"events":[]}', 'invalid poll response: "session" must be a string'],
      ['{"session":"s","resumed":"yes","seq":3,"events":[]}', 'invalid poll response: "resumed" must be a boolean'],
      ['{"session":"s","resumed":true,"seq":-3,"events":[]}', 'invalid poll response: "seq" must be a non-negative integer'],
      ['{"session":"s","resumed":true,"seq":3,"events":{}}', 'invalid poll response: "events" must be an array'],
      ['{"session":"s","resumed":true,"seq":3,"events":[{"type":"event","seq":1}]}', 'invalid event in poll response: "event" must be a string'],
      ['{"session":"s","resumed":true,"seq":3,"events":[{"type":"ping","id":1}]}', 'invalid event in poll response: not an event message'],
    ]
    for (const [body, error] of errors) expect(v1Protocol.http!.decodePoll(body), body).toStrictEqual({ ok: false, error })
  })

  it('corpus', () => {
    const bodies = [
      JSON.stringify(pollOf([])),
      JSON.stringify(pollOf([], { resumed: false, seq: 0 })),
      JSON.stringify(pollOf([{ type: 'event', seq: 1, event: 'a' }])),
      ...Object.keys(pollOf([])).flatMap((key) => [
        ...RAW_VALUES.map((raw) => frameOf(pairsOf(pollOf([])).map(([k, v]) => [k, k === key ? raw : v]))),
        frameOf(pairsOf(pollOf([])).filter(([k]) => k !== key)),
      ]),
      // every bad event of the frame corpus, inside a poll answer
      ...[...CORPUS.wrongTypes!, ...CORPUS.missing!, ...CORPUS.protoKeys!, ...CORPUS.unknownTypes!.slice(0, 6)]
        .filter((frame) => frame.includes('"type":"event"') || frame.includes('"seq"'))
        .map((frame) => `{"session":"s","resumed":true,"seq":3,"events":[${frame}]}`),
      // other message types are no events
      ...Object.values(FULL).map((m) => JSON.stringify(pollOf([m]))),
      '{"session":"s","resumed":true,"seq":3,"events":[null]}',
      '{"session":"s","resumed":true,"seq":3,"events":[[]]}',
      '{"session":"s","resumed":true,"seq":3,"events":{}}',
      '{"session":"s","resumed":true,"seq":3,"events":[{"type":"event","seq":1,"event":"a","data":{"__proto__":{"p":1}}}],"__proto__":{"x":1}}',
      ...CORPUS.notJson!,
      ...CORPUS.notObjects!,
    ]
    const outcomes = bodies.map(checkPoll)
    expect(outcomes).toContain('ok')
    expect(outcomes).toContain('error')
  })

  it('mutated poll answers agree with the schema', () => {
    const event = fc
      .tuple(
        fc.record(
          { type: fc.constant('event'), seq: fc.maxSafeNat(), event: fc.string(), data: fc.jsonValue(), ts: fc.integer(), ack: fc.boolean() },
          { requiredKeys: ['type', 'seq', 'event'] },
        ),
        fc.array(mutation, { maxLength: 1 }),
      )
      .map(([base, mutations]) => mutate(base, mutations))
    const body = fc
      .tuple(
        fc.record({ session: fc.string(), resumed: fc.boolean(), seq: fc.maxSafeNat(), events: fc.array(event, { maxLength: 4 }) }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('session', 'resumed', 'seq', 'events') }),
            fc.record({ op: fc.constant('set' as const), key: fc.constantFrom('session', 'resumed', 'seq', 'events', 'extra', '__proto__'), value: edgeValue }),
          ),
          { maxLength: 2 },
        ),
      )
      .map(([base, mutations]) => toText(mutate(base, mutations)))
    fc.assert(
      fc.property(body, (text) => {
        checkPoll(text)
      }),
      { numRuns: 2000 },
    )
  })
})
