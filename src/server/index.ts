/**
 * `wirefeed/server`: the reference server of wire protocol v1 for Node (`ws` + `node:http`).
 *
 * ```ts
 * import { createRealtimeServer } from 'wirefeed/server'
 * const rt = createRealtimeServer({ server: httpServer, path: '/ws/events', pollPath: '/api/events' })
 * rt.publish('alert', { id: '1', severity: 'high' }, { ack: true })
 * rt.stats(); await rt.close()
 * ```
 *
 * Modules, one concern each: `wire` (frames, codes), `options` (defaults), `replay-buffer`,
 * `subscriptions` (patterns), `session` (one session and its transports), `store` and
 * `memory-store` (where sessions live: seq, replay, TTL), `redis-*` (the same in Redis, for several
 * instances: `redisStore`), `hub` (publish and the hooks), `connection` and `websocket` (sockets,
 * heartbeat), `send-queue` (backpressure), `polling` and `http` (the HTTP fallback), `stats`, and
 * `server` (wiring and teardown).
 */
export { createRealtimeServer, type PublishOptions, type RealtimeServer } from './server.js'
export type { AuthResult, RealtimeServerOptions, SnapshotEvent } from './options.js'
export { redisStore, type RedisStoreOptions } from './redis-store.js'
export type { RealtimeStore } from './store.js'
export type { SessionView } from './session.js'
export type { ServerStats } from './stats.js'
export { CloseCode, ErrorCode } from './wire.js'
