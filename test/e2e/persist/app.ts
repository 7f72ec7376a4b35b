/**
 * The page of test/e2e/persist.test.ts: an app bundled by esbuild from the built package
 * (dist/index.js), connecting to the reference server of the page's own origin, with
 * `persist: 'session'` when the query string says `?persist=1`.
 *
 * Every load of the page in this tab is logged in sessionStorage (the test's own key, next to the
 * client's record): the seqs it received, its resyncs and errors. A reload wipes the page's memory
 * but not this log, so the test reads what the page received up to the moment it was left, and
 * what the reloaded page received from its first event on.
 */
import { RealtimeClient, type Stats, type Status } from 'wirefeed'

/** What one load of the page received. */
export interface LoadLog {
  persist: boolean
  seqs: number[]
  resyncs: { reason: string; from: number; to: number | null; missed: number | null }[]
  errors: string[]
}

export interface PersistPage {
  status(): Status
  stats(): Stats
  /** Every load of the page in this tab, oldest first; the last one is this page. */
  loads(): LoadLog[]
  /** The sessionStorage keys, the test's log and the client's record included. */
  keys(): string[]
  close(): void
}

declare global {
  interface Window {
    persistPage: PersistPage
  }
}

const LOG_KEY = 'persist-test:loads'

const persist = new URLSearchParams(location.search).get('persist') === '1'
const loads = JSON.parse(sessionStorage.getItem(LOG_KEY) ?? '[]') as LoadLog[]
const mine: LoadLog = { persist, seqs: [], resyncs: [], errors: [] }
loads.push(mine)
/** Written on every change: the page may be left at any moment. */
const save = (): void => sessionStorage.setItem(LOG_KEY, JSON.stringify(loads))
save()

const client = new RealtimeClient({
  url: `ws://${location.host}/ws/events`,
  subscribe: ['tick'],
  polling: false,
  reconnect: { minDelay: 50, maxDelay: 200, jitter: 0, connectTimeout: 3000 },
  ...(persist && { persist: 'session' as const }),
})
client.on('*', (_data, meta) => {
  mine.seqs.push(meta.seq)
  save()
})
client.on('resync', (info) => {
  mine.resyncs.push(info)
  save()
})
client.on('error', (error) => {
  mine.errors.push(`${error.code}: ${error.message}`)
  save()
})

window.persistPage = {
  status: () => client.status,
  stats: () => client.stats,
  loads: () => JSON.parse(sessionStorage.getItem(LOG_KEY) ?? '[]') as LoadLog[],
  keys: () => Object.keys(sessionStorage).sort(),
  close: () => client.close(),
}
