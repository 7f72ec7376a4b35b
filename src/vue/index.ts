/**
 * `wirefeed/vue`: composables over `RealtimeClient`, named like the React hooks. Call them in
 * `setup()` or inside an `effectScope()`; what they start is undone in `onScopeDispose`. Vue
 * (3.3 or later) is a peer dependency; importing this module touches neither `window` nor
 * `document` (SSR-safe). In a component, nothing starts before `onMounted`, which never runs during
 * server rendering; in a bare `effectScope()` it starts at once.
 */
import { getCurrentInstance, type MaybeRefOrGetter, onMounted, onScopeDispose, type Ref, shallowRef, toValue, watch } from 'vue'
import { RealtimeClient, type RealtimeEventHook, type RealtimeOptions } from '../client.js'

export type { RealtimeOptions }
import type { EventMeta, EventSchemas, Status, ThrottleOptions } from '../types.js'

/** What `new RealtimeClient(options)` takes. */

/** Run `start` once the scope is live (a component: on mount; a bare scope: now), and its undo on dispose. */
function whileActive(start: () => () => void): void {
  let stop: (() => void) | undefined
  let disposed = false
  const run = (): void => {
    if (!disposed) stop = start()
  }
  if (getCurrentInstance()) onMounted(run)
  else run()
  onScopeDispose(() => {
    disposed = true
    stop?.()
    stop = undefined
  })
}

/**
 * `undo`, a microtask later: a component that replaces another in the same tick takes its
 * references first, so a shared socket is not closed and reopened, and a handle closed in the same
 * tick sends no `unsubscribe` for patterns it is about to drop anyway.
 */
const later = (undo: () => void) => () => queueMicrotask(undo)

/**
 * A `RealtimeClient` for the scope's life.
 *
 * - With options: a handle created with `autoConnect: false` and connected when the component is
 *   mounted (at once in a bare `effectScope`). Handles with the same `url` and `dedupeKey` share
 *   one connection (`dedupe`). The options are read once; to change `url`, create the composable
 *   again (e.g. with a `key` on the component): that closes this handle and connects a new one.
 *   The handle is closed a microtask after the scope is disposed, so a component that replaces
 *   another on the same `url` keeps the socket; the shared socket closes with its last handle.
 * - With a client: that client, as is. It is neither connected nor closed by the composable.
 */
export function useRealtime<S extends EventSchemas>(client: RealtimeClient<S>): RealtimeClient<S>
export function useRealtime<S extends EventSchemas = EventSchemas>(options: RealtimeOptions<S>): RealtimeClient<S>
export function useRealtime<S extends EventSchemas>(source: RealtimeClient<S> | RealtimeOptions<S>): RealtimeClient<S> {
  // no `instanceof`: a client from another copy of the module is still a client
  if (typeof (source as Partial<RealtimeClient<S>>).connect === 'function') return source as RealtimeClient<S>
  const client = new RealtimeClient<S>({ ...(source as RealtimeOptions<S>), autoConnect: false })
  whileActive(() => {
    client.connect()
    return later(() => client.close())
  })
  return client
}

/**
 * Listen to one event while the scope is live. Built-in events (`status`, `resync`, `error`)
 * and `'*'` work too. Returns nothing: keep what you need in your own refs.
 */
export const useRealtimeEvent: RealtimeEventHook = function useRealtimeEvent(
  client: RealtimeClient<EventSchemas>,
  event: string,
  handler: (data: never, meta: EventMeta) => void,
  options?: ThrottleOptions,
): void {
  whileActive(() => client.on(event, handler as (data: unknown, meta: EventMeta) => void, options))
}

/** `client.status` as a read-only ref, kept up to date while the scope is live. */
export function useRealtimeStatus<S extends EventSchemas>(client: RealtimeClient<S>): Readonly<Ref<Status>> {
  const status = shallowRef<Status>(client.status)
  whileActive(() => {
    status.value = client.status
    return client.on('status', (s) => (status.value = s))
  })
  return status
}

/**
 * Subscribe to patterns while the scope is live (`client.subscribe`, undone a microtask after the
 * scope is disposed). The
 * patterns may be a ref or a getter: when they change (compared by value), the new ones are taken
 * before the old ones are let go, so the patterns both sets share send nothing on the wire.
 */
export function useRealtimeSubscription<S extends EventSchemas>(client: RealtimeClient<S>, patterns: MaybeRefOrGetter<readonly string[] | string>): void {
  whileActive(() => {
    let undo: () => void = () => {}
    const stopWatch = watch(
      () => {
        const p = toValue(patterns)
        return JSON.stringify(typeof p === 'string' ? [p] : p)
      },
      (key) => {
        const previous = undo
        undo = client.subscribe(JSON.parse(key) as string[])
        previous()
      },
      { immediate: true },
    )
    return () => {
      stopWatch()
      later(undo)()
    }
  })
}
