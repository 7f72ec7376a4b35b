/**
 * `redisStore({ url })`: sessions in Redis, so that several instances of the server behind one
 * URL (a load balancer) act as one. The `redis` package (node-redis, an optional peer dependency)
 * is loaded only when a server opens such a store, so nothing else ever pulls it in.
 *
 * ```ts
 * const rt = createRealtimeServer({ server: httpServer, store: redisStore({ url: process.env.REDIS_URL }) })
 * ```
 *
 * How the work is shared (redis-sessions.ts has the details): the instance that publishes an event
 * picks the sessions it goes to (patterns, then `filter`, on its copy of every session's patterns
 * and principal) and issues their seqs in Redis, in one script that also appends the event to each
 * session's replay stream and announces it on a pub/sub channel. Every instance hears the
 * announcement and hands the event to the sessions attached to it. So a session gets a seq once per
 * event whichever instance it is on, or none, and a detached session buffers what it misses in
 * Redis until it comes back, on any instance.
 */
import type { Settings } from './options.js'
import { RedisSessions } from './redis-sessions.js'
import { defineStore, type RealtimeStore } from './store.js'

export interface RedisStoreOptions {
  /** `redis[s]://[[username][:password]@][host][:port][/db-number]`. @default 'redis://127.0.0.1:6379' */
  url?: string
  /**
   * Prefix of every key and of the pub/sub channel. Instances that share a prefix share their
   * sessions; give unrelated deployments on one Redis different prefixes.
   * @default 'wirefeed:'
   */
  prefix?: string
}

/** The settings one store runs with. */
export interface RedisStoreSettings {
  url: string
  prefix: string
}

/**
 * A store that keeps sessions (seq counters, patterns, principals, replay buffers) in Redis, for
 * `createRealtimeServer({ store })`. Needs the `redis` package (`npm install redis`) and one Redis
 * server (not Redis Cluster: a publish touches the keys of many sessions in one script). Each
 * server that takes the store opens two connections: one for commands, one for pub/sub.
 */
export function redisStore(options: RedisStoreOptions = {}): RealtimeStore {
  const url = options.url ?? 'redis://127.0.0.1:6379'
  const prefix = options.prefix ?? 'wirefeed:'
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new TypeError('redisStore: "url" must be a redis:// or rediss:// URL')
  if (typeof prefix !== 'string') throw new TypeError('redisStore: "prefix" must be a string')
  return defineStore('redis', <P extends object>(settings: Settings<P>) => new RedisSessions<P>(settings, { url, prefix }))
}
