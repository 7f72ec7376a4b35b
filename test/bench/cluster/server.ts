/**
 * One instance of the reference server for the cluster bench (started by `run.ts` through fork,
 * which talks to it over the IPC channel). It runs the built package (dist/server.js) on
 * 127.0.0.1, port 0, with its sessions in memory or on Redis.
 *
 *   node test/bench/cluster/server.ts memory
 *   node test/bench/cluster/server.ts redis <url> <key prefix>
 *
 * Messages from run.ts:
 * - `{ type: 'stream', count, every }`: publish `count` events, one every `every` ms;
 * - `{ type: 'burst', count }`: publish `count` events as fast as it can, in slices of 100 with
 *   a turn of the event loop between them (as a busy application would), then `published`;
 * - `{ type: 'stats' }`: answered with `stats` (`sessions` this instance knows of);
 * - `{ type: 'stop' }`.
 * To run.ts: `{ type: 'listening', url }`, `{ type: 'published', count }`, `{ type: 'stats', sessions }`.
 *
 * Each event carries `t`, the wall-clock time of its publish (ms, `performance.timeOrigin +
 * performance.now()`), which the clients compare with their own clock on the same machine.
 */
import { createRealtimeServer, redisStore } from 'wirefeed/server'

type FromRun = { type: 'stream'; count: number; every: number } | { type: 'burst'; count: number } | { type: 'stats' } | { type: 'stop' }

const [kind, url = '', prefix = ''] = process.argv.slice(2)
if ((kind !== 'memory' && kind !== 'redis') || (kind === 'redis' && (!url || !prefix)) || !process.send) {
  console.error('usage: node test/bench/cluster/server.ts memory | redis <url> <prefix> (started by run.ts through fork)')
  process.exit(2)
}

const rt = createRealtimeServer({
  pollPath: false,
  statsPath: false,
  // the bench's clients read everything: let bursts queue whatever their length
  maxQueue: 1_000_000,
  maxBufferedBytes: 1024 * 1024 * 1024,
  ...(kind === 'redis' && { store: redisStore({ url, prefix }) }),
  onError: (error, context) => console.error(`[cluster bench server] ${context}:`, error),
})
await rt.ready

const send = (message: unknown): void => void process.send?.(message)
const now = (): number => performance.timeOrigin + performance.now()
/** A host-metrics payload, about 200 B as an event frame. */
const payload = (i: number) => ({ i, t: now(), host: 'web-17', cpu: 0.42, mem: 0.71, load: [1.2, 0.9, 0.8], tags: { region: 'eu-west', role: 'api' } })

let timer: ReturnType<typeof setInterval> | undefined

process.on('message', (message: FromRun) => {
  switch (message.type) {
    case 'stream': {
      let i = 0
      timer = setInterval(() => {
        rt.publish('host.metrics', payload(i++))
        if (i < message.count) return
        clearInterval(timer)
        send({ type: 'published', count: i })
      }, message.every)
      return
    }
    case 'burst': {
      let i = 0
      const slice = (): void => {
        for (const end = Math.min(i + 100, message.count); i < end; ) rt.publish('host.metrics', payload(i++))
        if (i < message.count) setImmediate(slice)
        else send({ type: 'published', count: i })
      }
      slice()
      return
    }
    case 'stats':
      send({ type: 'stats', sessions: rt.stats().sessions })
      return
    case 'stop':
      clearInterval(timer)
      void rt.close().finally(() => process.exit(0))
      return
  }
})
// run.ts gone (killed, crashed): do not linger
process.on('disconnect', () => process.exit(0))
send({ type: 'listening', url: rt.url })
