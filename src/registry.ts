/**
 * Deduplication: handles with the same `url` (the same string, or the same function) and the same
 * `dedupeKey` share one connection. The connection leaves the registry when it closes, so the
 * next handle opens a fresh one.
 */
import { Connection } from './connection.js'
import type { ConnectionConfig } from './options.js'
import type { UrlSource } from './types.js'

/** The shared connections still in the registry, with their `url` and `dedupeKey` (a handful: a scan is enough). */
const shared = new Map<Connection, [UrlSource, string]>()

/** The connection a handle should attach to: a shared one, or a private one when `dedupe` is false. */
export function acquire(config: ConnectionConfig, dedupe: boolean, dedupeKey: string): Connection {
  if (dedupe) for (const [existing, [url, key]] of shared) if (url === config.url && key === dedupeKey && !existing.closed) return existing
  const connection: Connection = new Connection(config, () => shared.delete(connection))
  if (dedupe) shared.set(connection, [config.url, dedupeKey])
  return connection
}

/** How many shared connections are open (for tests and diagnostics). */
export const sharedConnectionCount = (): number => shared.size
