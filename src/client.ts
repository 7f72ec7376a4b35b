/**
 * `RealtimeClient`: one handle on a (usually shared) connection. It owns what is the app's: its
 * listeners, its event schemas, its subscriptions. Everything about the link lives in the
 * connection, which the registry shares between handles with the same `url` and `dedupeKey`.
 */
import mitt, { type Emitter } from 'mitt'
import { type ConnectionSink, newStats } from './connection.js'
import { RealtimeError } from './errors.js'
import { toConfig } from './options.js'
import { isValidPattern } from './patterns.js'
import type { InboundEvent } from './protocol/types.js'
import { acquire, type Link } from './registry.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { type Throttled, throttle } from './throttle.js'
import type { BuiltinEvents, ClientOptions, EventMeta, EventSchemas, ResyncInfo, Stats, Status, ThrottleOptions } from './types.js'

/** The data type of event `K`, as its schema outputs it. */
export type EventData<S extends EventSchemas, K extends keyof S> = StandardSchemaV1.InferOutput<S[K]>

/** Names a schema may not take: the client emits them itself. */
export type ReservedEventName = keyof BuiltinEvents | '*'

/** What `new RealtimeClient(...)` takes: the options, with the reserved names kept out of `events`. */
export type RealtimeOptions<S extends EventSchemas = EventSchemas> = ClientOptions<S> & { events?: S & { [K in ReservedEventName]?: never } }

/**
 * The signatures of `client.on()` with the client as first argument, as the framework adapters'
 * `useRealtimeEvent` takes them: `data` is typed from the client's schemas.
 */
export interface RealtimeEventHook {
  <S extends EventSchemas, K extends keyof BuiltinEvents>(client: RealtimeClient<S>, event: K, handler: (value: BuiltinEvents[K]) => void): void
  <S extends EventSchemas, K extends keyof S & string>(
    client: RealtimeClient<S>,
    event: K,
    handler: (data: EventData<S, K>, meta: EventMeta) => void,
    options?: ThrottleOptions,
  ): void
  <S extends EventSchemas>(client: RealtimeClient<S>, event: '*', handler: (data: unknown, meta: EventMeta) => void, options?: ThrottleOptions): void
}

type Listener = (data: unknown, meta: EventMeta) => void
type BuiltinEmitter = Emitter<BuiltinEvents>

const RESERVED: readonly string[] = ['status', 'resync', 'error', '*']

/** Remove `item` from `list`; false when it was not there. */
function remove<T>(list: T[], item: T): boolean {
  const i = list.indexOf(item)
  if (i >= 0) list.splice(i, 1)
  return i >= 0
}

function describeIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): string {
  const first = issues[0]
  if (!first) return 'invalid'
  const path = (first.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.')
  return `${path ? `${path}: ` : ''}${first.message}${issues.length > 1 ? ` (+${issues.length - 1} more)` : ''}`
}

export class RealtimeClient<S extends EventSchemas = EventSchemas> {
  #connection: Link | undefined
  #state: Status = 'idle'
  /**
   * Listeners of server events by name (`'*'`: every event). Not mitt, which copies the list on
   * every emit: on the hot path a list is only read, and replaced (never changed) by `on`/`off`,
   * so a listener removed during a dispatch does not disturb it. The connection is told which
   * names this handle listens to, so an event reaches only the handles that want it.
   */
  private readonly listeners = new Map<string, readonly Listener[]>()
  /** Listeners of `status`, `resync` and `error`; made by the first of them (many handles never have one). */
  private builtin: BuiltinEmitter | undefined
  /** Event schemas by name; none when `events` names none. */
  readonly #schemas: Map<string, StandardSchemaV1> | undefined
  /** This handle's `subscribe()` calls, each released by its own undo function. */
  readonly #grants: (readonly string[])[] = []
  readonly #throttles: Throttled<Parameters<Listener>>[] = []
  /** This handle as its connection sees it. */
  readonly #sink: ConnectionSink
  readonly #options: RealtimeOptions<S>

  /**
   * @throws TypeError for a missing `url` or a schema named after a built-in event: mistakes in
   * code, not in data. Nothing that arrives from the server is ever thrown.
   */
  constructor(options: RealtimeOptions<S>) {
    this.#options = options
    if (typeof options?.url !== 'string' && typeof options?.url !== 'function') {
      throw new TypeError('RealtimeClient: `url` must be a string or a function returning one')
    }
    const schemas = Object.entries(options.events ?? {})
    for (const [name] of schemas) {
      if (RESERVED.includes(name)) throw new TypeError(`RealtimeClient: "${name}" is reserved and cannot have a schema`)
    }
    this.#schemas = schemas.length > 0 ? new Map(schemas) : undefined
    this.#sink = (kind, value) => {
      if (kind === 'event') this.#dispatch(value as InboundEvent)
      else if (kind === 'status') this.#setState(value as Status)
      else if (kind === 'resync') this.#emitBuiltin('resync', value as ResyncInfo)
      else this.#emitBuiltin('error', value as RealtimeError)
    }
    if (options.subscribe) this.subscribe(options.subscribe)
    if (options.autoConnect !== false) this.connect()
  }

  /** `idle` until the first attempt; then the connection's status; `closed` after `close()`. */
  get status(): Status {
    return this.#state
  }

  /** A snapshot of the connection's counters (shared by deduplicated handles). */
  get stats(): Stats {
    return this.#connection ? { ...this.#connection.stats } : newStats(this.#options.protocol?.capabilities.seq)
  }

  /** Attach to the connection (shared when `dedupe` is on) and start it if needed. Idempotent. */
  connect(): void {
    if (this.#connection && !this.#connection.closed) return
    if (this.#connection) this.#release()
    const { dedupe = true, dedupeKey = '' } = this.#options
    const connection = acquire(toConfig(this.#options), dedupe, dedupeKey)
    this.#connection = connection
    for (const patterns of this.#grants) connection.subscribe(patterns)
    for (const name of this.listeners.keys()) connection.route(this.#sink, name, true)
    connection.attach(this.#sink)
  }

  /** Release this handle: its subscriptions and pending throttled calls. The shared link closes with its last handle. */
  close(): void {
    for (const t of this.#throttles) t.cancel()
    this.#throttles.length = 0
    this.#release()
    this.#setState('closed')
  }

  /** Drop the socket and connect again at once, calling the `url` function anew. */
  reconnect(): void {
    this.#connection?.reconnect()
  }

  /** Ask the server to send the current state again (WebSocket: `refresh`; polling: also poll now). */
  refresh(): void {
    this.#connection?.refresh()
  }

  /**
   * Subscribe to event patterns (`alert`, `incident.*`, `jobs.**`). Returns a function that undoes
   * exactly this call. Invalid patterns are reported as `error` events and skipped.
   */
  subscribe(patterns: readonly string[] | string): () => void {
    const list: readonly unknown[] = typeof patterns === 'string' ? [patterns] : Array.isArray(patterns) ? patterns : [patterns]
    const valid = [...new Set(list)].filter((p): p is string => {
      if (isValidPattern(p)) return true
      this.#emitBuiltin('error', new RealtimeError('config', `invalid subscription pattern ${JSON.stringify(String(p)).slice(0, 80)}`))
      return false
    })
    if (valid.length === 0) return () => {}
    this.#grants.push(valid)
    this.#connection?.subscribe(valid)
    return () => {
      if (remove(this.#grants, valid)) this.#connection?.unsubscribe(valid)
    }
  }

  /** Built-in events: `status`, `resync`, `error`. */
  on<K extends keyof BuiltinEvents>(event: K, handler: (value: BuiltinEvents[K]) => void): () => void
  /** An event named in `events`: `data` is the schema's output, validated. */
  on<K extends keyof S & string>(
    event: K,
    handler: (data: EventData<S, K>, meta: EventMeta) => void,
    options?: ThrottleOptions,
  ): () => void
  /** Every event, with or without a schema (`data` unvalidated unless it has one). */
  on(event: '*', handler: (data: unknown, meta: EventMeta) => void, options?: ThrottleOptions): () => void
  on(event: string, handler: (...args: never[]) => void, options?: ThrottleOptions): () => void {
    if (RESERVED.includes(event) && event !== '*') {
      const name = event as keyof BuiltinEvents
      const h = handler as (value: unknown) => void
      const safe = (value: unknown): void => {
        try {
          h(value)
        } catch (cause) {
          // an `error` listener that throws is not reported through `error` again
          if (name !== 'error') this.#threw(cause)
        }
      }
      const builtin = (this.builtin ??= mitt())
      builtin.on(name, safe)
      return () => builtin.off(name, safe)
    }
    const h = handler as unknown as Listener
    const safe: Listener = (data, meta) => {
      try {
        h(data, meta)
      } catch (cause) {
        this.#threw(cause)
      }
    }
    const t = options?.throttle ? throttle(safe, options.throttle) : undefined
    if (t) this.#throttles.push(t)
    const run = t ?? safe
    const before = this.listeners.get(event)
    this.listeners.set(event, before ? [...before, run] : [run])
    if (!before) this.#connection?.route(this.#sink, event, true)
    return () => {
      t?.cancel()
      if (t) remove(this.#throttles, t)
      const list = this.listeners.get(event)
      if (!list?.includes(run)) return
      const rest = list.filter((l) => l !== run)
      if (rest.length > 0) return void this.listeners.set(event, rest)
      this.listeners.delete(event)
      this.#connection?.route(this.#sink, event, false)
    }
  }

  #release(): void {
    const connection = this.#connection
    this.#connection = undefined
    connection?.detach(this.#sink, this.#grants, this.listeners.keys())
  }

  #setState(status: Status): void {
    if (status === this.#state) return
    this.#state = status
    this.#emitBuiltin('status', status)
  }

  #emitBuiltin<K extends keyof BuiltinEvents>(name: K, value: BuiltinEvents[K]): void {
    this.builtin?.emit(name, value)
  }

  /** An app listener threw: an `error` event says so, and delivery goes on. */
  #threw(cause: unknown): void {
    this.#emitBuiltin('error', new RealtimeError('listener', 'an event listener threw', { cause }))
  }

  /** Validate (only when someone listens) and hand an event to this handle's listeners. */
  #dispatch(e: InboundEvent): void {
    const named = this.listeners.get(e.event)
    const starred = this.listeners.get('*')
    if (!named && !starred) return
    let data = e.data
    const schema = this.#schemas?.get(e.event)
    if (schema) {
      let result: ReturnType<StandardSchemaV1['~standard']['validate']>
      try {
        result = schema['~standard'].validate(data)
      } catch (cause) {
        return this.#emitBuiltin('error', new RealtimeError('schema', `the schema for "${e.event}" threw while validating seq ${e.seq}`, { event: e.event, seq: e.seq, cause }))
      }
      if (result instanceof Promise) {
        void result.catch(() => undefined)
        return this.#emitBuiltin('error', new RealtimeError('schema', `the schema for "${e.event}" is async; event schemas must validate synchronously`, { event: e.event, seq: e.seq }))
      }
      if (result.issues) {
        return this.#emitBuiltin('error', new RealtimeError('schema', `event "${e.event}" (seq ${e.seq}) failed its schema: ${describeIssues(result.issues)}`, { event: e.event, seq: e.seq }))
      }
      data = result.value
    }
    const meta: EventMeta = { seq: e.seq, event: e.event, ts: e.ts }
    if (named) for (const l of named) l(data, meta)
    if (starred) for (const l of starred) l(data, meta)
  }
}
