/**
 * `wirefeed/react`: hooks over `RealtimeClient`. Thin on purpose: the client does the work, the
 * hooks only tie a handle, listeners and subscriptions to a component's life. React (18 or later)
 * is a peer dependency; importing this module touches neither `window` nor `document` (SSR-safe),
 * and nothing here runs on the server, since every side effect lives in an effect.
 */
import { useCallback, useEffect, useInsertionEffect, useMemo, useRef, useSyncExternalStore } from 'react'
import { RealtimeClient, type RealtimeEventHook, type RealtimeOptions } from '../client.js'

export type { RealtimeOptions }
import type { EventMeta, EventSchemas, Status, ThrottleOptions } from '../types.js'

/** What `new RealtimeClient(options)` takes. */

/** Holders of each handle the hooks opened; the handle closes when the last one has let go. */
const holders = new WeakMap<object, number>()

/**
 * Connect `client` and return its release. The release is deferred by a microtask: StrictMode's
 * mount → unmount → mount (and a component that replaces another on the same handle) takes the
 * handle again before that, so the socket is neither closed nor reopened.
 */
function hold(client: { connect(): void; close(): void }): () => void {
  holders.set(client, (holders.get(client) ?? 0) + 1)
  client.connect()
  return () =>
    queueMicrotask(() => {
      const n = (holders.get(client) ?? 1) - 1
      if (n > 0) holders.set(client, n)
      else {
        holders.delete(client)
        client.close()
      }
    })
}

/** The same undo, a microtask later (see `hold`): a re-mount takes its reference first. */
const later = (undo: () => void) => () => queueMicrotask(undo)

/**
 * A `RealtimeClient` for the component's life.
 *
 * - With options: a handle created with `autoConnect: false` and connected in an effect, so the
 *   server renders nothing and StrictMode's double mount opens one socket. Handles with the same
 *   `url` and `dedupeKey` share one connection (`dedupe`). The handle is kept across renders for
 *   as long as `url`, `dedupeKey` and `dedupe` stay the same: changing one of them closes it and
 *   connects a new one (a function `url` counts by identity, so define it outside the component
 *   or memoize it). Other options are read when the handle is created; later changes are ignored
 *   (use `useRealtimeSubscription` for patterns that change). The handle is closed on unmount;
 *   the shared socket closes with its last handle.
 * - With a client: that client, as is. It is neither connected nor closed by the hook.
 */
export function useRealtime<S extends EventSchemas>(client: RealtimeClient<S>): RealtimeClient<S>
export function useRealtime<S extends EventSchemas = EventSchemas>(options: RealtimeOptions<S>): RealtimeClient<S>
export function useRealtime<S extends EventSchemas>(source: RealtimeClient<S> | RealtimeOptions<S>): RealtimeClient<S> {
  // no `instanceof`: a client from another copy of the module is still a client
  const given = typeof (source as Partial<RealtimeClient<S>>).connect === 'function' ? (source as RealtimeClient<S>) : undefined
  const options = given ? undefined : (source as RealtimeOptions<S>)
  const client = useMemo(
    () => given ?? new RealtimeClient<S>({ ...(options as RealtimeOptions<S>), autoConnect: false }),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed on what names the connection
    [given, options?.url, options?.dedupeKey, options?.dedupe],
  )
  useEffect(() => (given ? undefined : hold(client)), [client, given])
  return client
}

/** Keep the latest value in a ref, updated before any effect of the same commit runs. */
function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value)
  useInsertionEffect(() => {
    ref.current = value
  })
  return ref
}

/**
 * Listen to one event for the component's life. The handler may change on every render: the
 * latest one is called, and the listener is not re-registered (it is only when `client`, `event`
 * or `throttle` change). Built-in events (`status`, `resync`, `error`) and `'*'` work too.
 */
export const useRealtimeEvent: RealtimeEventHook = function useRealtimeEvent(
  client: RealtimeClient<EventSchemas>,
  event: string,
  handler: (data: never, meta: EventMeta) => void,
  options?: ThrottleOptions,
): void {
  const latest = useLatest(handler as (data: unknown, meta: EventMeta) => void)
  const throttle = options?.throttle
  useEffect(
    () => client.on(event, (data: unknown, meta: EventMeta) => latest.current(data, meta), throttle === undefined ? undefined : { throttle }),
    [client, event, throttle, latest],
  )
}

/** `client.status`, re-rendering on every change (`useSyncExternalStore`; the server snapshot is the current status). */
export function useRealtimeStatus<S extends EventSchemas>(client: RealtimeClient<S>): Status {
  const subscribe = useCallback((changed: () => void) => client.on('status', () => changed()), [client])
  const read = (): Status => client.status
  return useSyncExternalStore(subscribe, read, read)
}

/**
 * Subscribe to patterns while the component is mounted (`client.subscribe`, undone on unmount).
 * The patterns are compared by value, so an inline array does not resubscribe on every render;
 * when they change, the new ones are taken before the old ones are let go, so the patterns both
 * sets share send nothing on the wire.
 */
export function useRealtimeSubscription<S extends EventSchemas>(client: RealtimeClient<S>, patterns: readonly string[] | string): void {
  const list = typeof patterns === 'string' ? [patterns] : patterns
  const key = JSON.stringify(list)
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `list` is compared through `key`
  useEffect(() => later(client.subscribe(list)), [client, key])
}
