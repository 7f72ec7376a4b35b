/**
 * The page of test/e2e/testing-browser.test.ts, bundled by esbuild: an app's test page that mocks
 * its realtime server with `wirefeed/testing` and msw's `setupWorker`. The mock runs here in the
 * page; msw patches the page's WebSocket (no worker needed for that), and its service worker
 * (`/mockServiceWorker.js`) hands the page's HTTP requests, the polls, to the mock's handlers.
 *
 * The test drives it through `window.harness`.
 */
import { setupWorker } from 'msw/browser'
import { RealtimeClient } from '../../src/index.js'
import { createRealtimeMock, type PublishOptions } from '../../src/testing/index.js'
import type { EventMeta, Status } from '../../src/types.js'

/** Hosts that do not exist: nothing below can reach a real network. */
export const WS_URL = 'wss://realtime.example.test/ws/events'
export const POLL_URL = 'https://realtime.example.test/api/events'

export interface PageState {
  status: Status | null
  statuses: Status[]
  events: { seq: number; event: string; data: unknown }[]
  errors: string[]
  /** Whether msw's service worker controls the page. */
  controlled: boolean
  /** Resource timings of the poll requests: how many there were, and how many a service worker handled. */
  pollRequests: { total: number; throughWorker: number }
  connections: number
  openSockets: number
  polls: number
  posts: { session: string; messages: unknown[] }[]
  received: string[]
  sent: string[]
  subscriptions: string[]
}

export interface PageHarness {
  /** Resolves once msw's worker is active and controls the page. */
  ready: Promise<void>
  /** A client subscribed to `alert`, with short timings; `polling` adds `pollUrl`. */
  connect(o: { polling: boolean }): void
  close(): void
  publish(event: string, data: unknown, o?: PublishOptions): number[]
  dropConnection(): void
  refuseWebSocket(refuse: boolean): void
  state(): PageState
}

declare global {
  interface Window {
    harness: PageHarness
  }
}

const mock = createRealtimeMock({ url: WS_URL, pollUrl: POLL_URL })
const worker = setupWorker(...mock.handlers)

let client: RealtimeClient | undefined
let statuses: Status[] = []
let events: PageState['events'] = []
let errors: string[] = []

function pollRequests(): PageState['pollRequests'] {
  const entries = performance.getEntriesByType('resource').filter((e) => e.name.startsWith(POLL_URL)) as PerformanceResourceTiming[]
  return { total: entries.length, throughWorker: entries.filter((e) => e.workerStart > 0).length }
}

window.harness = {
  ready: worker.start({ quiet: true, onUnhandledRequest: 'bypass', serviceWorker: { url: '/mockServiceWorker.js' } }).then(async () => {
    await navigator.serviceWorker.ready
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }))
    }
  }),

  connect({ polling }) {
    statuses = []
    events = []
    errors = []
    const c = new RealtimeClient({
      url: WS_URL,
      ...(polling ? { pollUrl: POLL_URL, polling: { interval: 100, upgradeInterval: 500 } } : { polling: false as const }),
      subscribe: ['alert'],
      reconnect: { minDelay: 50, maxDelay: 200, jitter: 0, maxAttempts: 2, connectTimeout: 3000 },
    })
    statuses.push(c.status)
    c.on('status', (s) => statuses.push(s))
    c.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
    c.on('*', (data: unknown, meta: EventMeta) => events.push({ seq: meta.seq, event: meta.event, data }))
    client = c
  },

  close() {
    client?.close()
    client = undefined
    mock.reset()
  },

  publish: (event, data, o) => mock.publish(event, data, o),
  dropConnection: () => mock.dropConnection(),
  refuseWebSocket: (refuse) => mock.refuseWebSocket(refuse),

  state: () => ({
    status: client?.status ?? null,
    statuses,
    events,
    errors,
    controlled: navigator.serviceWorker.controller !== null,
    pollRequests: pollRequests(),
    connections: mock.connections,
    openSockets: mock.openSockets,
    polls: mock.polls.length,
    posts: mock.posts.map((p) => ({ session: p.session, messages: p.messages })),
    received: mock.received.map((m) => m.type),
    sent: mock.sentMessages.map((m) => m.type),
    subscriptions: mock.subscriptions,
  }),
}
