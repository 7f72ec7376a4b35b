/**
 * The messages of a Redis store's channel (written by the scripts of redis-scripts.ts), and the
 * events read back from a session's stream. Fields are separated by newlines: event names,
 * session ids and numbers have none, and neither has JSON as `JSON.stringify` writes it; the
 * payload comes last anyway.
 *
 * - `E\n<ts>\n<ack 0|1>\n<event>\n<id> <seq> <id> <seq>…\n<data JSON>`: an event and the seq it got
 *   in each session;
 * - `S\n<id>\n<version>\n<seq>\n<generation>\n<patterns JSON>\n<principal JSON or nothing>`: a
 *   session's state, new or changed;
 * - `X\n<id> <id>…`: sessions removed;
 * - `C\n<generation>`: every session born before this generation is forgotten.
 */
import type { Entry } from './replay-buffer.js'
import type { Published } from './wire.js'

export interface SessionState {
  id: string
  version: number
  seq: number
  generation: number
  patterns: string
  /** '' for none. */
  principal: string
}

export type BusMessage =
  | { type: 'E'; item: Published; to: string[] }
  | { type: 'S'; state: SessionState }
  | { type: 'X'; ids: string[] }
  | { type: 'C'; generation: number }

/**
 * An event as Redis gave it back: its payload is parsed the first time it is needed (for `onAck`),
 * never when it is only passed on (the frame carries the JSON as it came).
 */
export function storedItem(event: string, json: string, ts: number, ack: boolean): Published {
  let data: unknown
  let parsed = false
  return {
    event,
    json,
    ts,
    ack,
    get data(): unknown {
      if (!parsed) {
        data = JSON.parse(json)
        parsed = true
      }
      return data
    },
  }
}

/** The first `n - 1` fields of `text` and the rest as the last one. */
function fields(text: string, n: number): string[] {
  const out: string[] = []
  let from = 0
  while (out.length < n - 1) {
    const at = text.indexOf('\n', from)
    if (at < 0) break
    out.push(text.slice(from, at))
    from = at + 1
  }
  out.push(text.slice(from))
  return out
}

/** Decode a channel message; undefined for one this version does not know. */
export function parseMessage(text: string): BusMessage | undefined {
  switch (text[0]) {
    case 'E': {
      const [, ts, ack, event, to, json] = fields(text, 6)
      if (json === undefined || event === undefined || to === undefined) return undefined
      return { type: 'E', item: storedItem(event, json, Number(ts), ack === '1'), to: to.split(' ') }
    }
    case 'S': {
      const [, id, version, seq, generation, patterns, principal] = fields(text, 7)
      if (principal === undefined || id === undefined || patterns === undefined) return undefined
      return { type: 'S', state: { id, version: Number(version), seq: Number(seq), generation: Number(generation), patterns, principal } }
    }
    case 'X':
      return { type: 'X', ids: text.slice(2).split(' ') }
    case 'C':
      return { type: 'C', generation: Number(text.slice(2)) }
    default:
      return undefined
  }
}

/** One entry of `XRANGE` on a session's stream: `[id, [field, value, …]]`. */
export type StreamEntry = [string, string[]]

/** A stream entry as a replay buffer entry. */
export function toEntry([id, values]: StreamEntry): Entry {
  const field = (name: string): string | undefined => {
    for (let i = 0; i < values.length; i += 2) if (values[i] === name) return values[i + 1]
    return undefined
  }
  return { seq: Number.parseInt(id, 10), item: storedItem(field('e') ?? '', field('d') ?? 'null', Number(field('t')), field('a') === '1') }
}
