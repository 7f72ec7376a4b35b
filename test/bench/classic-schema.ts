/**
 * The v1 server messages written with classic zod, only to compare it with the zod/mini schemas
 * of src/protocol/v1-schema.ts and the hand-written guards of src/protocol/v1.ts.
 */
import * as z from 'zod'

const seq = z.number().int().nonnegative()
const id = z.union([z.number(), z.string()])
export const serverMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), v: z.number().optional(), session: z.string(), resumed: z.boolean(), seq, heartbeat: z.number().positive().optional() }),
  z.object({ type: z.literal('event'), seq, event: z.string(), data: z.unknown(), ts: z.number().optional(), ack: z.boolean().optional() }),
  z.object({ type: z.literal('replay_failed'), after: seq, seq }),
  z.object({ type: z.literal('ping'), id }),
  z.object({ type: z.literal('pong'), id }),
  z.object({ type: z.literal('auth_ok'), expires: z.number().optional() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
])
