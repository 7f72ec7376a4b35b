/**
 * Wire protocol v1, the default adapter (PROTOCOL.md). Frames are checked by hand-written guards
 * that build fresh objects field by field: unknown fields are stripped, nothing from the wire is
 * used as an object key, and a `__proto__` key inside a payload is removed before the app sees it.
 * The guards mirror the zod schemas in `v1-schema.ts` (a test keeps them in lockstep); they exist
 * because they are several times faster, need no `new Function` (strict CSP), and keep zod out of
 * the browser bundle.
 */
import type { EventMessage, PollResponse, ServerMessage } from './v1-schema.js'
import type { Decoded, Inbound, InboundEvent, Invalid, Outbound, PollQuery, PollResult, Protocol } from './types.js'

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
/** Finite, as `z.number()`: JSON.parse turns `1e400` into Infinity. */
const isNum = (v: unknown): v is number => Number.isFinite(v)
const isStr = (v: unknown): v is string => typeof v === 'string'
const isId = (v: unknown): v is number | string => isNum(v) || isStr(v)
const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v)

const fail = (error: string): Decoded<never> => ({ ok: false, error })

/**
 * Whether a text may hold a `__proto__` key: spelt out, or with one of its letters written as a
 * `\u` escape (`"\u005f_proto__"` parses to the same key). Two plain substring searches: a frame
 * without either (nearly all of them) is parsed with no reviver, at the speed of JSON.parse.
 */
const mayHoldProto = (text: string): boolean => text.includes('__proto__') || text.includes('\\u00')

/** Set by `parse` when it removed a `__proto__` key from the text it last parsed. */
let stripped = false
const dropProto = (key: string, v: unknown): unknown => {
  if (key !== '__proto__') return v
  stripped = true
  return undefined
}

/** JSON.parse that never yields an own `__proto__` key (see `stripped`); undefined for invalid JSON. */
function parse(text: string): unknown {
  stripped = false
  try {
    return mayHoldProto(text) ? JSON.parse(text, dropProto) : JSON.parse(text)
  } catch {
    return undefined
  }
}

/** An `event` message, or the reason it is not one. */
function toEvent(m: Obj): InboundEvent | string {
  if (!isSeq(m.seq)) return '"seq" must be a non-negative integer'
  if (!isStr(m.event)) return '"event" must be a string'
  if (!optional(m.ts, isNum)) return '"ts" must be a number'
  if (!optional(m.ack, (v) => typeof v === 'boolean')) return '"ack" must be a boolean'
  const out: InboundEvent = { type: 'event', seq: m.seq, event: m.event, data: m.data }
  if (m.ts !== undefined) out.ts = m.ts as number
  if (m.ack !== undefined) out.ack = m.ack as boolean
  return out satisfies Omit<EventMessage, 'data'> & { data: unknown }
}

/** A server message of a known type, the reason it is malformed, or null for an unknown type. */
function toInbound(m: Obj): Exclude<Inbound, Invalid> | string | null {
  switch (m.type) {
    case 'event':
      return toEvent(m)
    case 'welcome': {
      if (!isStr(m.session)) return '"session" must be a string'
      if (typeof m.resumed !== 'boolean') return '"resumed" must be a boolean'
      if (!isSeq(m.seq)) return '"seq" must be a non-negative integer'
      if (!optional(m.v, isNum)) return '"v" must be a number'
      if (!optional(m.heartbeat, (v) => isNum(v) && v > 0)) return '"heartbeat" must be a positive number'
      const out: Inbound = { type: 'welcome', session: m.session, resumed: m.resumed, seq: m.seq }
      if (m.heartbeat !== undefined) out.heartbeat = m.heartbeat as number
      return out
    }
    case 'replay_failed':
      if (!isSeq(m.after) || !isSeq(m.seq)) return '"after" and "seq" must be non-negative integers'
      return { type: 'replay_failed', after: m.after, seq: m.seq }
    case 'ping':
    case 'pong':
      if (!isId(m.id)) return '"id" must be a number or a string'
      return { type: m.type, id: m.id }
    case 'auth_ok': {
      if (!optional(m.expires, isNum)) return '"expires" must be a number'
      return m.expires === undefined ? { type: 'auth_ok' } : { type: 'auth_ok', expires: m.expires as number }
    }
    case 'error':
      if (!isStr(m.code) || !isStr(m.message)) return '"code" and "message" must be strings'
      return { type: 'error', code: m.code, message: m.message }
    default:
      return null
  }
}

const invalid = (error: string): Invalid => ({ type: 'invalid', error })

function decode(frame: string): Inbound | null {
  const m = parse(frame)
  if (!isObj(m) || !isStr(m.type)) return invalid(m === undefined ? 'frame is not valid JSON' : 'frame is not an object with a string "type"')
  const out = toInbound(m)
  if (typeof out === 'string') return invalid(`invalid "${m.type.slice(0, 40)}" message: ${out}`)
  if (stripped && out) return { type: 'invalid', error: 'a "__proto__" key was removed from the frame', value: out }
  return out satisfies Omit<ServerMessage, 'v'> | Inbound | null
}

function decodePoll(body: string): Decoded<PollResult> {
  const m = parse(body)
  const repaired = stripped
  if (!isObj(m)) return fail('poll response is not a JSON object')
  if (!isStr(m.session) || typeof m.resumed !== 'boolean' || !isSeq(m.seq) || !Array.isArray(m.events)) {
    return fail('poll response needs "session", "resumed", "seq" and an "events" array')
  }
  const events: InboundEvent[] = []
  for (const e of m.events as unknown[]) {
    const ev = isObj(e) && e.type === 'event' ? toEvent(e) : 'not an event message'
    if (typeof ev === 'string') return fail(`invalid event in poll response: ${ev}`)
    events.push(ev)
  }
  const out: PollResult = { session: m.session, resumed: m.resumed, seq: m.seq, events }
  if (repaired) return { ok: true, value: out, warning: 'a "__proto__" key was removed from the poll response' }
  return { ok: true, value: out satisfies Omit<PollResponse, 'events'> & { events: InboundEvent[] } }
}

/** Outbound messages are built by the client from its own state; v1 adds only the version to hello. */
const encode = (message: Outbound): string =>
  JSON.stringify(message.type === 'hello' ? { ...message, v: 1 } : message)

function pollUrl(base: string, q: PollQuery): string {
  const params = new URLSearchParams()
  if (q.session !== null) params.set('session', q.session)
  if (q.after !== null) params.set('after', String(q.after))
  params.set('events', q.events.join(','))
  if (q.wait > 0) params.set('wait', String(q.wait))
  return base + (base.includes('?') ? '&' : '?') + params.toString()
}

const encodePost = (session: string, messages: readonly Outbound[]): string => JSON.stringify({ session, messages })

/** The default protocol: wirefeed v1. */
export const v1Protocol: Protocol = { name: 'v1', decode, encode, pollUrl, decodePoll, encodePost }
