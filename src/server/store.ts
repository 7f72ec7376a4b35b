/**
 * Where a server keeps its sessions. The default keeps them in this process (memory-store.ts);
 * `redisStore()` keeps them in Redis, so that several instances behind one URL share them
 * (redis-store.ts). The hub and the transports see only this interface and `Session`.
 *
 * A store answers synchronously where it can (in memory, always); a shared store answers the
 * calls that need a round trip with a promise.
 */
import type { Settings } from './options.js'
import type { Eventually, Missed, Session } from './session.js'

/** How a `hello` or a poll found its session. */
export interface Opened<P extends object> {
  session: Session<P>
  resumed: boolean
  /** What the client missed, oldest first; undefined when the buffer no longer covers `after`. */
  missed: Missed
}

export interface Store<P extends object> {
  /** Live sessions (for stats). */
  readonly size: number
  /** Resolves once the store can serve requests. */
  readonly ready: Promise<void>
  /** Every session `publish` considers; the store skips expired ones it cannot tell apart here. */
  values(): Iterable<Session<P>>
  /**
   * Resume session `id` when it is known and live and `after` is not past its head (a buffer that
   * no longer covers `after` still resumes, with `missed` undefined); otherwise start a new one.
   * Undefined when a new session is needed and `maxSessions` are live.
   */
  open(id: string | null | undefined, after: number | null | undefined, principal: P | undefined): Eventually<Opened<P> | undefined>
  /** The session with this id, unless it is unknown or expired. */
  get(id: string): Eventually<Session<P> | undefined>
  /** Forget every session, as a restarted server would. */
  clear(): void
  /** Stop every timer and link, and forget the sessions held here. */
  close(): Eventually<void>
}

/**
 * A shared store cannot be reached: the operation failed, and the outage itself was reported to
 * `onError` once already, so the transports do not report each operation it fails.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
}

/** Report a failed store operation, unless it failed for an outage reported already. */
export function reportFailure(onError: (error: unknown, context: string) => void, error: unknown, context: string): void {
  if (!(error instanceof StoreUnavailableError)) onError(error, context)
}

/** A store of a kind other than the default: made by `redisStore()`, opened once per server. */
export interface RealtimeStore {
  /** What the store keeps its sessions in. */
  readonly kind: 'redis'
}

type Opener = <P extends object>(settings: Settings<P>) => Store<P>

/** How each store handed out by `redisStore()` is opened: kept here, out of the public type. */
const openers = new WeakMap<RealtimeStore, Opener>()

/** Make a store handle whose stores `open` creates, one per server. */
export function defineStore(kind: RealtimeStore['kind'], open: Opener): RealtimeStore {
  const store: RealtimeStore = Object.freeze({ kind })
  openers.set(store, open)
  return store
}

/** The store a server runs with. */
export function openStore<P extends object>(store: RealtimeStore, settings: Settings<P>): Store<P> {
  const open = openers.get(store)
  if (!open) throw new TypeError('createRealtimeServer: "store" must come from redisStore()')
  return open(settings)
}
