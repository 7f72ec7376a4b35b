import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { RealtimeClient, type EventMeta, type RealtimeError, type ResyncInfo, type Stats, type Status } from '../../src/index.js'

const client = new RealtimeClient({
  url: 'wss://api.example.com/ws/events',
  autoConnect: false,
  events: {
    alert: z.object({ id: z.string(), severity: z.enum(['low', 'high']) }),
    'incident.created': z.object({ id: z.string(), at: z.string().transform((s) => new Date(s)) }),
  },
})

describe('RealtimeClient types', () => {
  it('infers data per event name from its schema (the schema output, after transforms)', () => {
    client.on('alert', (data, meta) => {
      expectTypeOf(data).toEqualTypeOf<{ id: string; severity: 'low' | 'high' }>()
      expectTypeOf(meta).toEqualTypeOf<EventMeta>()
      expectTypeOf(meta.seq).toEqualTypeOf<number>()
    })
    client.on('incident.created', (data) => {
      expectTypeOf(data).toEqualTypeOf<{ id: string; at: Date }>()
    })
  })

  it('rejects unknown event names and wrong handler types', () => {
    // @ts-expect-error not declared in `events`
    client.on('incident.deleted', () => {})
    // @ts-expect-error `severity` is 'low' | 'high', not number
    client.on('alert', (data: { id: string; severity: number }) => data)
  })

  it('types the built-in events', () => {
    client.on('status', (s) => expectTypeOf(s).toEqualTypeOf<Status>())
    client.on('resync', (info) => expectTypeOf(info).toEqualTypeOf<ResyncInfo>())
    client.on('error', (e) => expectTypeOf(e).toEqualTypeOf<RealtimeError>())
    client.on('*', (data, meta) => {
      expectTypeOf(data).toBeUnknown()
      expectTypeOf(meta.event).toBeString()
    })
  })

  it('returns undo functions and exposes status and stats', () => {
    expectTypeOf(client.on('alert', () => {})).toEqualTypeOf<() => void>()
    expectTypeOf(client.subscribe(['incident.*'])).toEqualTypeOf<() => void>()
    expectTypeOf(client.status).toEqualTypeOf<Status>()
    expectTypeOf(client.stats).toEqualTypeOf<Stats>()
  })

  it('only accepts throttle options on wire events', () => {
    client.on('alert', () => {}, { throttle: 1000 })
    // @ts-expect-error built-in events take no options
    client.on('status', () => {}, { throttle: 1000 })
  })

  it('refuses schemas under reserved names', () => {
    // @ts-expect-error `status` is emitted by the client itself
    new RealtimeClient({ url: 'wss://x', autoConnect: false, events: { status: z.string() } })
  })

  it('accepts a url function, sync or async', () => {
    new RealtimeClient({ url: () => 'wss://x', autoConnect: false })
    new RealtimeClient({ url: async () => 'wss://x', autoConnect: false })
    // @ts-expect-error a number is not a URL
    new RealtimeClient({ url: 42, autoConnect: false })
  })

  it('without schemas, event names are not known', () => {
    const bare = new RealtimeClient({ url: 'wss://x', autoConnect: false })
    bare.on('*', (data) => expectTypeOf(data).toBeUnknown())
    bare.on('status', () => {})
  })
})
