/**
 * Wire protocol v1 as zod schemas: the single source of the wire types (see PROTOCOL.md).
 *
 * The client does not run these on its hot path: `v1.ts` checks frames with hand-written guards
 * that produce exactly these types, and `test/unit/v1-guards.test.ts` proves the guards accept and
 * reject the same frames as the schemas (and strip the same unknown fields). The schemas serve the
 * reference server, the testing kit and that proof; importing them costs the browser bundle nothing
 * because the client only imports their *types*.
 */
import * as z from 'zod/mini'

const seq = z.number().check(z.int(), z.nonnegative())
const id = z.union([z.number(), z.string()])
const patterns = z.array(z.string())

export const welcome = z.object({
  type: z.literal('welcome'),
  v: z.optional(z.number()),
  session: z.string(),
  resumed: z.boolean(),
  seq,
  heartbeat: z.optional(z.number().check(z.positive())),
})
export const event = z.object({
  type: z.literal('event'),
  seq,
  event: z.string(),
  // Optional, as zod 3 read `z.unknown()`: an event may carry no data (the client passes undefined).
  data: z.optional(z.unknown()),
  ts: z.optional(z.number()),
  ack: z.optional(z.boolean()),
})
export const replayFailed = z.object({ type: z.literal('replay_failed'), after: seq, seq })
export const ping = z.object({ type: z.literal('ping'), id })
export const pong = z.object({ type: z.literal('pong'), id })
export const authOk = z.object({ type: z.literal('auth_ok'), expires: z.optional(z.number()) })
export const serverError = z.object({ type: z.literal('error'), code: z.string(), message: z.string() })

/** Every server-to-client message of v1. */
export const serverMessage = z.discriminatedUnion('type', [
  welcome,
  event,
  replayFailed,
  ping,
  pong,
  authOk,
  serverError,
])

export const hello = z.object({
  type: z.literal('hello'),
  v: z.literal(1),
  session: z.nullable(z.string()),
  after: z.nullable(seq),
  events: patterns,
  token: z.optional(z.string()),
})

/** Every client-to-server message of v1. */
export const clientMessage = z.discriminatedUnion('type', [
  hello,
  z.object({ type: z.literal('subscribe'), events: patterns }),
  z.object({ type: z.literal('unsubscribe'), events: patterns }),
  z.object({ type: z.literal('replay'), after: seq }),
  z.object({ type: z.literal('ack'), seq }),
  z.object({ type: z.literal('ping'), id }),
  z.object({ type: z.literal('pong'), id }),
  z.object({ type: z.literal('refresh') }),
  z.object({ type: z.literal('auth'), token: z.string() }),
])

/** The answer to a poll GET. */
export const pollResponse = z.object({
  session: z.string(),
  resumed: z.boolean(),
  seq,
  events: z.array(event),
})

/** The body of a poll POST. */
export const pollPost = z.object({ session: z.string(), messages: z.array(clientMessage) })

export type ServerMessage = z.infer<typeof serverMessage>
export type ClientMessage = z.infer<typeof clientMessage>
export type EventMessage = z.infer<typeof event>
export type WelcomeMessage = z.infer<typeof welcome>
export type PollResponse = z.infer<typeof pollResponse>
