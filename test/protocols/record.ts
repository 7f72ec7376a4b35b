/** What a client emitted, for the protocol tests (with msw or with real sockets). */
import type { RealtimeClient } from '../../src/client.js'
import type { RealtimeError } from '../../src/errors.js'
import type { EventMeta, EventSchemas, ResyncInfo, Status } from '../../src/types.js'

export interface Recorded {
  statuses: Status[]
  errors: RealtimeError[]
  resyncs: ResyncInfo[]
  /** Every event delivered to `on('*')`, with its meta. */
  events: { event: string; data: unknown; seq: number; ts: number | undefined }[]
}

/** Listen to everything a client emits (status from its current value on). */
export function record(c: RealtimeClient<EventSchemas>): Recorded {
  const r: Recorded = { statuses: [c.status], errors: [], resyncs: [], events: [] }
  c.on('status', (s) => r.statuses.push(s))
  c.on('error', (e) => r.errors.push(e))
  c.on('resync', (i) => r.resyncs.push(i))
  c.on('*', (data: unknown, meta: EventMeta) => r.events.push({ event: meta.event, data, seq: meta.seq, ts: meta.ts }))
  return r
}
