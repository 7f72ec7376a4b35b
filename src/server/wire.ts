/**
 * The server's side of wire protocol v1 (PROTOCOL.md): close codes, error codes, decoding client
 * frames with the zod schemas of `../protocol/v1-schema.ts`, and encoding server frames.
 *
 * Event frames are built by string concatenation around a payload serialized once per `publish`,
 * so delivering one event to many sessions (each with its own `seq`) costs one `JSON.stringify`.
 */
import { clientMessage, type ClientMessage } from '../protocol/v1-schema.js'

/** Close codes with a meaning of their own (PROTOCOL.md, "Close codes"). */
export const CloseCode = {
  /** Normal closure. */
  NORMAL: 1000,
  /** The server is going away (`close()`). */
  GOING_AWAY: 1001,
  /** A hook (e.g. `authenticate`) threw: an internal error, the client retries. */
  INTERNAL_ERROR: 1011,
  /** The session was forgotten (`forgetSessions`, as by a restart): the client reconnects. */
  SERVICE_RESTART: 1012,
  /** Unauthorised: `authenticate` refused the credentials. */
  UNAUTHORIZED: 4001,
  /** Over capacity or too slow to keep up: the client backs off to its maximum delay. */
  OVER_CAPACITY: 4008,
  /** Protocol error: the client sent invalid frames repeatedly, or no `hello` in time. */
  PROTOCOL_ERROR: 4400,
} as const

/** `code` of the `error` messages this server sends. */
export const ErrorCode = {
  /** A frame that is not JSON, not an object, or has fields of the wrong type for its `type`. */
  BAD_REQUEST: 'bad_request',
  /** A valid message the session cannot take (e.g. more patterns than `maxPatternsPerSession`). */
  LIMIT: 'limit_exceeded',
  /** The `snapshot` hook failed while answering `refresh`. */
  REFRESH_FAILED: 'refresh_failed',
} as const

/** The message types of v1 a client may send; any other `type` is ignored (forward compatibility). */
const CLIENT_TYPES: ReadonlySet<string> = new Set(['hello', 'subscribe', 'unsubscribe', 'replay', 'ack', 'ping', 'pong', 'refresh', 'auth'])

/** What one client frame decoded to: a message, nothing to act on (unknown type), or a problem. */
export type DecodedFrame = { ok: true; message: ClientMessage } | { ok: false; error: string } | null

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Whether `value` is an object whose `type` this protocol version does not know (to be ignored). */
export const isUnknownType = (value: unknown): boolean =>
  isObject(value) && typeof value.type === 'string' && !CLIENT_TYPES.has(value.type)

/** Check an already parsed value against the v1 client schemas; null for an unknown `type`. */
export function decodeValue(value: unknown): DecodedFrame {
  if (!isObject(value) || typeof value.type !== 'string') return { ok: false, error: 'frame is not an object with a string "type"' }
  if (!CLIENT_TYPES.has(value.type)) return null
  const result = clientMessage.safeParse(value)
  if (result.success) return { ok: true, message: result.data }
  const issue = result.error.issues[0]
  const where = issue && issue.path.length > 0 ? `"${issue.path.map(String).join('.')}"` : 'a field'
  return { ok: false, error: `invalid "${value.type.slice(0, 40)}" message: ${where} is missing or of the wrong type` }
}

/** Decode one text frame. Never throws. */
export function decodeFrame(text: string): DecodedFrame {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, error: 'frame is not valid JSON' }
  }
  return decodeValue(value)
}

/** One published event, shared by every session it is delivered to. */
export interface Published {
  event: string
  /** The payload as the publisher gave it (handed to `onAck`). */
  data: unknown
  /** `data` serialized once. */
  json: string
  ts: number
  ack: boolean
}

/** Serialize an event for `publish`; throws a TypeError for data JSON cannot carry (BigInt, cycles). */
export function prepare(event: string, data: unknown, ack: boolean, ts = Date.now()): Published {
  const json = JSON.stringify(data) ?? 'null'
  return { event, data, json, ts, ack }
}

/** The `event` frame of `item` with the session's `seq`. */
export const encodeEvent = (seq: number, item: Published): string =>
  `{"type":"event","seq":${seq},"event":${JSON.stringify(item.event)},"data":${item.json},"ts":${item.ts}${item.ack ? ',"ack":true' : ''}}`

/** Serialize a server message that is not an event. */
export const encode = (message: { type: string } & Record<string, unknown>): string => JSON.stringify(message)

/** An `error` frame. */
export const errorFrame = (code: string, message: string): string => encode({ type: 'error', code, message })
