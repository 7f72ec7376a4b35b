/**
 * The page of test/e2e/tabs.test.ts: an app bundled by esbuild from the built package (the test
 * resolves `wirefeed` to dist/index.js), connected with `shareAcrossTabs` to the reference server
 * of the page's own origin. Several such pages in one browser context share one socket.
 */
import { RealtimeClient, type ResyncInfo, type Stats, type Status } from 'wirefeed'

export interface TabsPageState {
  status: Status | null
  events: { seq: number; event: string }[]
  resyncs: ResyncInfo[]
  errors: string[]
  stats: Stats | null
}

export interface TabsPage {
  start(subscribe: string[]): void
  state(): TabsPageState
}

declare global {
  interface Window {
    tabsPage: TabsPage
  }
}

let client: RealtimeClient | undefined
const events: TabsPageState['events'] = []
const resyncs: ResyncInfo[] = []
const errors: string[] = []

window.tabsPage = {
  start(subscribe) {
    const url = `ws://${location.host}/ws/events`
    client = new RealtimeClient({ url, shareAcrossTabs: true, reconnect: { minDelay: 50, maxDelay: 500 } })
    client.on('*', (_data, meta) => events.push({ seq: meta.seq, event: meta.event }))
    client.on('resync', (info) => resyncs.push(info))
    client.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
    if (subscribe.length > 0) client.subscribe(subscribe)
  },
  state: () => ({ status: client?.status ?? null, events: [...events], resyncs: [...resyncs], errors: [...errors], stats: client?.stats ?? null }),
}
