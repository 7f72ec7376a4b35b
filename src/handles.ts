/**
 * The handles on one link, as the link sees them: who they are, and which of them listen to which
 * event name (`'*'`: every event), so an event goes only to the handles that want it and its cost
 * does not grow with the handles that listen to other events. Used by a connection and by a
 * tab-shared link alike.
 */
import type { RealtimeError } from './errors.js'
import type { InboundEvent } from './protocol/types.js'
import type { ResyncInfo, Status } from './types.js'

/** What a link tells its handles, by kind. */
export interface SinkMessages {
  status: Status
  event: InboundEvent
  resync: ResyncInfo
  error: RealtimeError
}

/** A handle as its link sees it: one function (a handle holds one, not one per kind). */
export type ConnectionSink = <K extends keyof SinkMessages>(kind: K, value: SinkMessages[K]) => void

export class Handles {
  readonly #all = new Set<ConnectionSink>()
  readonly #routes = new Map<string, readonly ConnectionSink[]>()

  get size(): number {
    return this.#all.size
  }

  add(sink: ConnectionSink): void {
    this.#all.add(sink)
  }

  /** A handle leaves, with the names it listened to. */
  remove(sink: ConnectionSink, names: Iterable<string>): void {
    this.#all.delete(sink)
    for (const name of names) this.route(sink, name, false)
  }

  /** A handle starts or stops listening to event `name` (`'*'`: every event). */
  route(sink: ConnectionSink, name: string, on: boolean): void {
    // lists are replaced, never changed: a delivery under way keeps the list it started with
    const list = this.#routes.get(name) ?? []
    const next = on ? (list.includes(sink) ? list : [...list, sink]) : list.filter((s) => s !== sink)
    if (next.length > 0) this.#routes.set(name, next)
    else this.#routes.delete(name)
  }

  /** An event, to the handles listening to its name, then to those listening to every event. */
  event(event: InboundEvent): void {
    const named = this.#routes.get(event.event)
    const starred = this.#routes.get('*')
    if (named) for (const sink of named) sink('event', event)
    if (starred) for (const sink of starred) if (!named?.includes(sink)) sink('event', event)
  }

  /** A status, a resync or an error, to every handle. */
  tell<K extends 'status' | 'resync' | 'error'>(kind: K, value: SinkMessages[K]): void {
    for (const sink of this.#all) sink(kind, value)
  }
}
