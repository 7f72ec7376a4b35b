/**
 * `wirefeed/svelte`: readable stores over one event of a `RealtimeClient`. They are plain
 * `svelte/store` stores, so `$status` works in Svelte 4 and 5 components and in `.svelte.ts`
 * files. Svelte is a peer dependency; importing this module touches neither `window` nor
 * `document` (SSR-safe).
 */
import { type Readable, readable, writable } from 'svelte/store'
import type { EventData, RealtimeClient } from '../client.js'
import type { EventMeta, EventSchemas, Status } from '../types.js'

/** One delivered event: its data (typed by the event's schema) and its meta. */
export interface RealtimeEvent<T = unknown> {
  data: T
  meta: EventMeta
}

export interface RealtimeStores<T = unknown> {
  /** `client.status`. */
  status: Readable<Status>
  /** The last event delivered, `undefined` until one arrives. */
  latest: Readable<RealtimeEvent<T> | undefined>
  /** The events delivered, oldest first, at most `max` (the oldest ones are dropped). */
  events: Readable<readonly RealtimeEvent<T>[]>
}

export interface RealtimeStoresOptions {
  /** How many events `events` keeps. @default 100 */
  max?: number
}

/** Store sets using each client, and whether they connected it (then the last one closes it). */
const holders = new WeakMap<object, { n: number; opened: boolean }>()

function hold(client: RealtimeClient<EventSchemas>): () => void {
  let h = holders.get(client)
  if (!h) {
    // not connected (`autoConnect: false`, or closed), and in a browser: the stores connect it
    const opened = (client.status === 'idle' || client.status === 'closed') && typeof document !== 'undefined'
    holders.set(client, (h = { n: 0, opened }))
    if (opened) client.connect()
  }
  const held = h
  held.n++
  return () => {
    if (--held.n > 0) return
    holders.delete(client)
    if (held.opened) client.close()
  }
}

/**
 * Stores for one event (or `'*'` for every event) of `client`.
 *
 * The three stores share one life: when the first subscriber of any of them arrives, they listen
 * to the client and, if the client was not connected (`autoConnect: false`, or closed), connect
 * it. A microtask after the last subscriber of all three leaves, they stop listening; when no
 * store made by `realtimeStores` for this client is subscribed any more, the handle is closed
 * again, but only if the stores were the ones who connected it: a client that was already
 * connected is left as it was. Events are collected only while someone is subscribed; the stores
 * keep their values in between. On the server (no `document`), the stores never connect: they
 * show the client's status and no events.
 */
export function realtimeStores<S extends EventSchemas, K extends keyof S & string>(
  client: RealtimeClient<S>,
  event: K,
  options?: RealtimeStoresOptions,
): RealtimeStores<EventData<S, K>>
export function realtimeStores<S extends EventSchemas>(client: RealtimeClient<S>, event: '*', options?: RealtimeStoresOptions): RealtimeStores<unknown>
export function realtimeStores(client: RealtimeClient<EventSchemas>, event: string, options: RealtimeStoresOptions = {}): RealtimeStores<unknown> {
  const max = Math.max(1, Math.floor(options.max ?? 100) || 100)
  const status = writable<Status>(client.status)
  const latest = writable<RealtimeEvent | undefined>(undefined)
  const events = writable<readonly RealtimeEvent[]>([])
  let users = 0
  let stop: (() => void) | undefined

  function start(): void {
    if (users++ > 0 || stop) return // `stop` still set: taken again before the release ran
    const offStatus = client.on('status', (s) => status.set(s))
    const offEvent = client.on(event, (data: unknown, meta: EventMeta) => {
      const e: RealtimeEvent = { data, meta }
      latest.set(e)
      events.update((list) => (list.length >= max ? [...list.slice(list.length - max + 1), e] : [...list, e]))
    })
    const letGo = hold(client)
    status.set(client.status)
    stop = () => {
      offStatus()
      offEvent()
      letGo()
    }
  }

  function release(): void {
    if (--users > 0) return
    queueMicrotask(() => {
      if (users > 0) return
      stop?.()
      stop = undefined
    })
  }

  const expose = <T>(inner: Readable<T>, initial: T): Readable<T> =>
    readable(initial, (set) => {
      start()
      const off = inner.subscribe(set)
      return () => {
        off()
        release()
      }
    })

  return {
    status: expose(status, client.status),
    latest: expose(latest, undefined),
    events: expose(events, []),
  }
}
