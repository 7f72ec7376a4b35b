/**
 * What every adapter needs to read frames safely: JSON.parse that never yields a `__proto__` key,
 * and small guards that check a message's fields and copy them into a fresh object. Keys come from
 * the adapter's own tables, never from the wire, and unknown fields are left behind.
 */
import type { Invalid } from './types.js'

export type Obj = Record<string, unknown>

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
export const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
/** Finite, as `z.number()`: JSON.parse turns `1e400` into Infinity. */
export const isNum = (v: unknown): v is number => Number.isFinite(v)
export const isStr = (v: unknown): v is string => typeof v === 'string'
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean'

/** What a field may hold: its check, and the words an error uses for it. */
export type Kind = readonly [check: (v: unknown) => boolean, wants: string]
export const STR: Kind = [isStr, 'a string']
export const BOOL: Kind = [isBool, 'a boolean']
export const SEQ: Kind = [isSeq, 'a non-negative integer']
export const NUM: Kind = [isNum, 'a number']
export const POSITIVE: Kind = [(v) => isNum(v) && v > 0, 'a positive number']
export const ID: Kind = [(v) => isNum(v) || isStr(v), 'a number or a string']
export const ARRAY: Kind = [Array.isArray, 'an array']
/** `data`: anything, also nothing (then the message carries `data: undefined`). */
export const ANY: Kind = [() => true, '']

/** A field may be left out (`OPTIONAL`), or be checked and not passed on (`DROPPED`). */
export const OPTIONAL = 1
export const DROPPED = 2
export type Field<K extends string = string> = readonly [key: K, kind: Kind, how?: typeof OPTIONAL | typeof DROPPED]

/**
 * Checks `m` against `fields` and copies their values into `out` (keys from the table only, never
 * from the wire; an absent optional field is left out); returns `out`, or the first reason `m`
 * does not fit, naming the field.
 */
export function read<T extends object>(m: Obj, fields: readonly Field[], out: T): T | string {
  for (const [key, [check, wants], how] of fields) {
    const v = m[key]
    if (v === undefined && how) continue
    if (!check(v)) return `"${key}" must be ${wants}`
    if (how !== DROPPED) (out as Obj)[key] = v
  }
  return out
}

/**
 * Whether a text may hold a `__proto__` key: spelt out, or with one of its letters written as a
 * `\u` escape (`"\u005f_proto__"` parses to the same key). Two plain substring searches: a frame
 * without either (nearly all of them) is parsed with no reviver, at the speed of JSON.parse.
 */
const mayHoldProto = (text: string): boolean => text.includes('__proto__') || text.includes('\\u00')

/** Set by `parse` when it removed a `__proto__` key from the text it last parsed. */
export let stripped = false
const dropProto = (key: string, v: unknown): unknown => {
  if (key !== '__proto__') return v
  stripped = true
  return undefined
}

/** JSON.parse that never yields an own `__proto__` key (see `stripped`); undefined for invalid JSON. */
export function parse(text: string): unknown {
  stripped = false
  try {
    return mayHoldProto(text) ? JSON.parse(text, dropProto) : JSON.parse(text)
  } catch {
    return undefined
  }
}

export const invalid = (error: string): Invalid => ({ type: 'invalid', error })
