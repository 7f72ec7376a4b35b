/**
 * Types of the framework adapters: event data is inferred from the client's schemas exactly as
 * `client.on` infers it. Checked by tsc, never executed (hooks are called outside components).
 */
import type { Readable } from 'svelte/store'
import { describe, expectTypeOf, it } from 'vitest'
import type { Ref } from 'vue'
import { z } from 'zod'
import { type EventMeta, RealtimeClient, type RealtimeError, type ResyncInfo, type Status } from '../../src/index.js'
import * as react from '../../src/react/index.js'
import { type RealtimeEvent, realtimeStores } from '../../src/svelte/index.js'
import * as vue from '../../src/vue/index.js'

const events = {
  alert: z.object({ id: z.string(), severity: z.enum(['low', 'high']) }),
  'incident.created': z.object({ id: z.string(), at: z.string().transform((s) => new Date(s)) }),
}
type Events = typeof events
type Alert = { id: string; severity: 'low' | 'high' }

const client = new RealtimeClient({ url: 'wss://api.example.com/ws/events', autoConnect: false, events })

describe.each([
  ['react', react],
  ['vue', vue],
] as const)('%s hooks', (_name, hooks) => {
  it('useRealtime infers the schemas from options, and passes a client through with its type', () => {
    const fromOptions = hooks.useRealtime({ url: 'wss://x', events })
    expectTypeOf(fromOptions).toEqualTypeOf<RealtimeClient<Events>>()
    expectTypeOf(hooks.useRealtime(client)).toEqualTypeOf<RealtimeClient<Events>>()
    // no schemas: any event name, data unknown
    const untyped = hooks.useRealtime({ url: () => 'wss://x' })
    hooks.useRealtimeEvent(untyped, 'anything', (data) => expectTypeOf(data).toBeUnknown())
  })

  it('useRealtime refuses schemas under reserved names', () => {
    // @ts-expect-error `status` is emitted by the client itself
    hooks.useRealtime({ url: 'wss://x', events: { status: z.string() } })
  })

  it('useRealtimeEvent infers data per event name, like client.on', () => {
    hooks.useRealtimeEvent(client, 'alert', (data, meta) => {
      expectTypeOf(data).toEqualTypeOf<Alert>()
      expectTypeOf(meta).toEqualTypeOf<EventMeta>()
    })
    hooks.useRealtimeEvent(client, 'incident.created', (data) => expectTypeOf(data).toEqualTypeOf<{ id: string; at: Date }>())
    hooks.useRealtimeEvent(client, 'alert', () => {}, { throttle: 100 })
    hooks.useRealtimeEvent(client, '*', (data, meta) => {
      expectTypeOf(data).toBeUnknown()
      expectTypeOf(meta.event).toBeString()
    })
  })

  it('useRealtimeEvent rejects unknown names and wrong handler types', () => {
    // @ts-expect-error not declared in `events`
    hooks.useRealtimeEvent(client, 'incident.deleted', () => {})
    // @ts-expect-error `severity` is 'low' | 'high', not number
    hooks.useRealtimeEvent(client, 'alert', (data: { id: string; severity: number }) => data)
  })

  it('useRealtimeEvent types the built-in events, which take no options', () => {
    hooks.useRealtimeEvent(client, 'status', (s) => expectTypeOf(s).toEqualTypeOf<Status>())
    hooks.useRealtimeEvent(client, 'resync', (info) => expectTypeOf(info).toEqualTypeOf<ResyncInfo>())
    hooks.useRealtimeEvent(client, 'error', (e) => expectTypeOf(e).toEqualTypeOf<RealtimeError>())
    // @ts-expect-error built-in events take no options
    hooks.useRealtimeEvent(client, 'status', () => {}, { throttle: 100 })
  })

  it('useRealtimeSubscription takes a pattern or a list', () => {
    expectTypeOf(hooks.useRealtimeSubscription(client, ['incident.*', 'alert'])).toBeVoid()
    expectTypeOf(hooks.useRealtimeSubscription(client, 'incident.*')).toBeVoid()
    // @ts-expect-error patterns are strings
    hooks.useRealtimeSubscription(client, [1])
  })
})

describe('react', () => {
  it('useRealtimeStatus returns the status', () => {
    expectTypeOf(react.useRealtimeStatus(client)).toEqualTypeOf<Status>()
  })
})

describe('vue', () => {
  it('useRealtimeStatus returns a read-only ref', () => {
    const status = vue.useRealtimeStatus(client)
    expectTypeOf(status).toEqualTypeOf<Readonly<Ref<Status>>>()
    // @ts-expect-error read-only
    status.value = 'open'
  })

  it('useRealtimeSubscription also takes a ref or a getter', () => {
    const patterns = {} as Ref<string[]>
    vue.useRealtimeSubscription(client, patterns)
    vue.useRealtimeSubscription(client, () => patterns.value)
  })
})

describe('svelte', () => {
  it('realtimeStores types its stores from the schema', () => {
    const { status, latest, events: list } = realtimeStores(client, 'alert', { max: 50 })
    expectTypeOf(status).toEqualTypeOf<Readable<Status>>()
    expectTypeOf(latest).toEqualTypeOf<Readable<RealtimeEvent<Alert> | undefined>>()
    expectTypeOf(list).toEqualTypeOf<Readable<readonly RealtimeEvent<Alert>[]>>()
    expectTypeOf(realtimeStores(client, '*').latest).toEqualTypeOf<Readable<RealtimeEvent<unknown> | undefined>>()
  })

  it('realtimeStores rejects unknown names and built-in events', () => {
    // @ts-expect-error not declared in `events`
    realtimeStores(client, 'incident.deleted')
    // @ts-expect-error `status` is a store already, not an event
    realtimeStores(client, 'status')
  })
})
