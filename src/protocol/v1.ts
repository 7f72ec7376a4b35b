/**
 * Wire protocol v1, the default adapter (PROTOCOL.md). Frames are checked by hand-written guards
 * that build fresh objects field by field: unknown fields are stripped, nothing from the wire is
 * used as an object key, and a `__proto__` key inside a payload is removed before the app sees it.
 * The guards mirror the zod schemas in `v1-schema.ts` (a test keeps them in lockstep); they exist
 * because they are several times faster, need no `new Function` (strict CSP), and keep zod out of
 * the browser bundle.
 *
 * Each message type is described by a table of its fields (`MESSAGES`), which one small loop
 * (`read`) checks and copies: a guard of its own per type would cost the browser bundle far more
 * for types that arrive a few times per connection. Only the frequent `event` has a hand-written
 * check in front of that loop, to keep the hot path as fast as JSON.parse allows.
 */
import type { EventMessage, PollResponse, ServerMessage } from './v1-schema.js'
import { ANY, ARRAY, BOOL, DROPPED, type Field, ID, NUM, OPTIONAL, POSITIVE, SEQ, STR, invalid, isBool, isNum, isObj, isSeq, isStr, type Obj, parse, read, stripped } from './json.js'
import type { Decoded, Inbound, InboundEvent, Invalid, Outbound, PollQuery, PollResult, Protocol } from './types.js'

type Message = Exclude<Inbound, Invalid>

/** The fields of a message of the schema (`type` aside, the lookup already checked it). */
type Fields<M> = readonly Field<Exclude<keyof M & string, 'type'>>[]

/** The fields of each message type, in the order they are checked; `type` comes first in the output. */
const MESSAGES: { [T in ServerMessage['type']]: Fields<Extract<ServerMessage, { type: T }>> } = {
  event: [['seq', SEQ], ['event', STR], ['data', ANY], ['ts', NUM, OPTIONAL], ['ack', BOOL, OPTIONAL]],
  welcome: [['session', STR], ['resumed', BOOL], ['seq', SEQ], ['v', NUM, DROPPED], ['heartbeat', POSITIVE, OPTIONAL]],
  replay_failed: [['after', SEQ], ['seq', SEQ]],
  ping: [['id', ID]],
  pong: [['id', ID]],
  auth_ok: [['expires', NUM, OPTIONAL]],
  error: [['code', STR], ['message', STR]],
}
/** Looked up by the wire's `type`: a Map, so that `constructor` or `__proto__` find nothing. */
const BY_TYPE = new Map<string, readonly Field[]>(Object.entries(MESSAGES))
const POLL: Fields<PollResponse> = [['session', STR], ['resumed', BOOL], ['seq', SEQ], ['events', ARRAY]]

/**
 * An `event` message, or the reason it is not one. The hot path: a hand-written check of the same
 * fields as `MESSAGES.event`, which only a frame that fails it goes through, for the error's words.
 */
function toEvent(m: Obj): InboundEvent | string {
  const { seq, event, ts, ack } = m
  if (!isSeq(seq) || !isStr(event) || !(ts === undefined || isNum(ts)) || !(ack === undefined || isBool(ack))) {
    return read(m, MESSAGES.event, { type: 'event' } as InboundEvent)
  }
  const out: InboundEvent = { type: 'event', seq, event, data: m.data }
  if (ts !== undefined) out.ts = ts
  if (ack !== undefined) out.ack = ack
  return out satisfies Omit<EventMessage, 'data'> & { data: unknown }
}

const fail = (error: string): Decoded<never> => ({ ok: false, error })

function decode(frame: string): Inbound | null {
  const m = parse(frame)
  if (!isObj(m) || !isStr(m.type)) return invalid(m === undefined ? 'frame is not valid JSON' : 'frame is not an object with a string "type"')
  const fields = m.type === 'event' ? null : BY_TYPE.get(m.type)
  if (fields === undefined) return null
  // Past the lookup, `m.type` is one of the known types: safe to copy, and to quote in full.
  const out = fields ? read(m, fields, { type: m.type } as Message) : toEvent(m)
  if (typeof out === 'string') return invalid(`invalid "${m.type}" message: ${out}`)
  if (stripped) return { type: 'invalid', error: 'a "__proto__" key was removed from the frame', value: out }
  return out satisfies Omit<ServerMessage, 'v'> | Inbound
}

function decodePoll(body: string): Decoded<PollResult> {
  const m = parse(body)
  const repaired = stripped
  if (!isObj(m)) return fail('poll response is not a JSON object')
  const out = read(m, POLL, {} as PollResult)
  if (typeof out === 'string') return fail(`invalid poll response: ${out}`)
  const events: InboundEvent[] = []
  for (const e of out.events as unknown[]) {
    const ev = isObj(e) && e.type === 'event' ? toEvent(e) : 'not an event message'
    if (typeof ev === 'string') return fail(`invalid event in poll response: ${ev}`)
    events.push(ev)
  }
  out.events = events
  if (repaired) return { ok: true, value: out, warning: 'a "__proto__" key was removed from the poll response' }
  return { ok: true, value: out }
}

/** Outbound messages are built by the client from its own state; v1 adds the version to hello, and sends only the change of patterns. */
function wire(message: Outbound): object {
  if (message.type === 'hello') return { ...message, v: 1 }
  if (message.type === 'subscribe' || message.type === 'unsubscribe') return { type: message.type, events: message.events }
  return message
}

const encode = (message: Outbound): string => JSON.stringify(wire(message))

function pollUrl(base: string, q: PollQuery): string {
  const params = new URLSearchParams()
  if (q.session !== null) params.set('session', q.session)
  if (q.after !== null) params.set('after', String(q.after))
  params.set('events', q.events.join(','))
  if (q.wait > 0) params.set('wait', String(q.wait))
  return base + (base.includes('?') ? '&' : '?') + params.toString()
}

const encodePost = (session: string, messages: readonly Outbound[]): string => JSON.stringify({ session, messages: messages.map(wire) })

/** The default protocol: wirefeed v1. */
export const v1Protocol: Protocol = {
  name: 'v1',
  capabilities: { seq: true, handshake: 'hello', ping: true, filter: true },
  decode,
  encode,
  http: { pollUrl, decodePoll, encodePost },
}
