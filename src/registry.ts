/**
 * Deduplication: handles with the same `url` (the same string, or the same function) and the same
 * `dedupeKey` share one connection. The connection leaves the registry when it closes, so the
 * next handle opens a fresh one.
 */
import { Connection } from './connection.js'
import type { ConnectionConfig } from './options.js'
import type { UrlSource } from './types.js'

const connections = new Map<string, Connection>()
const functionIds = new WeakMap<object, number>()
let nextId = 0

function keyOf(url: UrlSource, dedupeKey: string): string {
  if (typeof url === 'string') return `s${url}\n${dedupeKey}`
  let id = functionIds.get(url)
  if (id === undefined) functionIds.set(url, (id = ++nextId))
  return `f${id}\n${dedupeKey}`
}

/** The connection a handle should attach to: a shared one, or a private one when `dedupe` is false. */
export function acquire(config: ConnectionConfig, dedupe: boolean, dedupeKey: string): Connection {
  if (!dedupe) return new Connection(config, () => {})
  const key = keyOf(config.url, dedupeKey)
  const existing = connections.get(key)
  if (existing && !existing.closed) return existing
  const connection: Connection = new Connection(config, () => {
    if (connections.get(key) === connection) connections.delete(key)
  })
  connections.set(key, connection)
  return connection
}

/** How many shared connections are open (for tests and diagnostics). */
export const sharedConnectionCount = (): number => connections.size
