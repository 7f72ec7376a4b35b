/** Defaults, and the settings one connection runs with. */
import { persistKey } from './persist.js'
import { v1Protocol } from './protocol/v1.js'
import type { Protocol } from './protocol/types.js'
import type { AuthOptions, ClientOptions, UrlSource } from './types.js'

export const DEFAULTS = {
  reconnect: { minDelay: 1000, maxDelay: 16000, factor: 2, jitter: 0.2, maxAttempts: 5, connectTimeout: 10000 },
  heartbeat: { interval: 30000, timeout: 10000 },
  polling: { interval: 30000, wait: 0, upgradeInterval: 60000 },
  replay: { timeout: 5000, maxBuffer: 1000 },
  maxMessageBytes: 2 ** 20,
  /** `auth.refreshBefore`, ms. */
  refreshBefore: 60000,
  /** A connection that stayed up this long resets the backoff schedule, ms. */
  stableAfter: 5000,
  /** After a `changed` message, the soonest the next refetch may start, ms. */
  refetchInterval: 1000,
}

/** The settings one connection runs with: the client options it needs, every default filled in. */
export interface ConnectionConfig extends Pick<ClientOptions, 'url' | 'pollUrl' | 'logger' | 'WebSocket' | 'fetch' | 'allowInsecure' | 'shareAcrossTabs'> {
  reconnect: typeof DEFAULTS.reconnect
  heartbeat: typeof DEFAULTS.heartbeat
  polling: typeof DEFAULTS.polling | false
  replay: typeof DEFAULTS.replay
  maxMessageBytes: number
  protocol: Protocol
  /** See `ProtocolDefaults.refetchInterval`. */
  refetchInterval: number
  auth: Required<AuthOptions> | undefined
  /** With `persist: 'session'`: the name of the connection's record in sessionStorage. */
  persistKey?: string
}

/** `value` when it is a finite number ≥ 0 (not NaN: it fails both comparisons), else `fallback`. */
const positive = (value: number | undefined, fallback: number): number =>
  typeof value === 'number' && value >= 0 && value < Infinity ? value : fallback

function merge<T extends Record<string, number>>(defaults: T, given: Partial<Record<keyof T, number | undefined>> | undefined): T {
  const out = { ...defaults }
  for (const key of Object.keys(defaults) as (keyof T)[]) out[key] = positive(given?.[key], defaults[key] as number) as T[keyof T]
  return out
}

export function toConfig(o: ClientOptions): ConnectionConfig {
  const protocol = o.protocol ?? v1Protocol
  // what the protocol's server calls for, under what the app asked for
  const given = protocol.defaults ?? {}
  const reconnect = merge(DEFAULTS.reconnect, o.reconnect)
  reconnect.jitter = Math.min(reconnect.jitter, 1)
  reconnect.factor = Math.max(reconnect.factor, 1)
  reconnect.minDelay = Math.max(reconnect.minDelay, 1)
  reconnect.maxDelay = Math.max(reconnect.maxDelay, reconnect.minDelay)
  const heartbeat = merge(merge(DEFAULTS.heartbeat, given.heartbeat), o.heartbeat)
  const polling = o.polling !== false && merge(merge(DEFAULTS.polling, given.polling), o.polling)
  // zero would mean a dead link at every ping, or a poll loop with no pause
  heartbeat.timeout ||= DEFAULTS.heartbeat.timeout
  if (polling) polling.interval ||= DEFAULTS.polling.interval
  // the other client options (url, pollUrl, logger, WebSocket, fetch, allowInsecure...) go through as given
  return {
    ...o,
    reconnect,
    heartbeat,
    polling,
    replay: merge(DEFAULTS.replay, o.replay),
    maxMessageBytes: positive(o.maxMessageBytes, DEFAULTS.maxMessageBytes),
    protocol,
    refetchInterval: positive(given.refetchInterval, DEFAULTS.refetchInterval),
    ...(o.persist === 'session' && { persistKey: persistKey(o.url, o.dedupeKey) }),
    auth: o.auth && { getToken: o.auth.getToken, refreshBefore: positive(o.auth.refreshBefore, DEFAULTS.refreshBefore) },
  }
}

/** Resolve a URL source; a function is called each time (fresh token). */
export const resolveUrl = async (source: UrlSource): Promise<string> => (typeof source === 'function' ? source() : source)
