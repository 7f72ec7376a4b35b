/**
 * What the adapters of servers that name each JSON message by a `type` field share (event bus,
 * typed updates, hub): every `type` the protocol does not claim for itself is an event of that
 * name, its `data` the payload and its `timestamp` (ISO 8601) the event's `ts`. The values are
 * copied into fresh objects: nothing from the wire becomes an object key, unknown fields stay behind.
 */
import { type Field, OPTIONAL, type Obj, STR, invalid, isObj, isStr, read, stripped } from './json.js'
import type { Inbound, Invalid, WireEvent } from './types.js'

export type Message = Exclude<Inbound, Invalid>
/** Reads one of a protocol's own message types: the message, null to ignore it, or why it does not fit. */
export type Reader = (m: Obj) => Message | null | string

const ERROR: readonly Field[] = [['code', STR, OPTIONAL], ['message', STR]]
/** `{"type":"error","message":"...","code":"..."}`; without a `code`, the code is `"error"`. */
export const serverError: Reader = (m) => read<Message>(m, ERROR, { type: 'error', code: 'error', message: '' })

/** An event named `event`: the message's `data`, and its `timestamp` as `ts` when it parses as a date. */
export function typedEvent(m: Obj, event: string): WireEvent | string {
  const { timestamp } = m
  if (!(timestamp === undefined || isStr(timestamp))) return '"timestamp" must be a string'
  const out: WireEvent = { type: 'event', event, data: m.data }
  const ts = timestamp === undefined ? NaN : Date.parse(timestamp)
  if (Number.isFinite(ts)) out.ts = ts
  return out
}

/**
 * A message as `decode` returns it: a reason it does not fit becomes `invalid` (`what` names the
 * message), and one the parse had to repair (a `__proto__` key removed) is reported with its value.
 */
export function settle(out: Message | null | string, what: string): Inbound | null {
  if (typeof out === 'string') return invalid(`invalid ${what}: ${out}`)
  if (out && stripped) return { type: 'invalid', error: 'a "__proto__" key was removed from the frame', value: out }
  return out
}

/**
 * A parsed frame (`parse` from json.ts, undefined when it was not JSON) whose `type` names it: one
 * of the protocol's own types through its reader in `own` (a Map: `constructor` or `__proto__`
 * find nothing), any other type an event of that name.
 */
export function decodeTyped(m: unknown, own: ReadonlyMap<string, Reader>): Inbound | null {
  if (!isObj(m) || !isStr(m.type)) return invalid(m === undefined ? 'frame is not valid JSON' : 'frame is not an object with a string "type"')
  const reader = own.get(m.type)
  // an own type is one of the protocol's names, safe to quote; an event's name is the server's
  return reader ? settle(reader(m), `"${m.type}" message`) : settle(typedEvent(m, m.type), 'event')
}
