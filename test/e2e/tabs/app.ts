/**
 * The page of test/e2e/tabs.test.ts: an app bundled by esbuild from the built package (the test
 * resolves `wirefeed` to dist/index.js), connected with `shareAcrossTabs` to the reference server
 * of the page's own origin. Several such pages in one browser context share one socket.
 *
 * Its `WebSocket` is the browser's, tapped: the page counts the sockets it opened (only the leader
 * opens one) and the acks they sent. It also notes the page's lifecycle (`freeze`, `resume`), so a
 * test can tell that a freeze took.
 */
import { RealtimeClient, type ResyncInfo, type Stats, type Status, type WebSocketConstructor } from 'wirefeed'

export interface TabsPageState {
  status: Status | null
  /** `n`: the number the test published the event with (the session's seq, when every event is published to one session). */
  events: { seq: number; event: string; n: number | undefined }[]
  resyncs: ResyncInfo[]
  errors: string[]
  stats: Stats | null
  /** Sockets this page opened, and how many of them are open now. */
  sockets: number
  open: number
  /** The seqs of the `ack` frames this page's sockets sent, in order. */
  acks: number[]
  /** `freeze` and `resume`, as the page got them. */
  lifecycle: string[]
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
const acks: number[] = []
const lifecycle: string[] = []
const sockets: WebSocket[] = []

document.addEventListener('freeze', () => lifecycle.push('freeze'))
document.addEventListener('resume', () => lifecycle.push('resume'))

/** The browser's WebSocket, noting each socket and the acks it sends. */
function Tapped(url: string | URL, protocols?: string | string[]): WebSocket {
  const socket = new WebSocket(url, protocols)
  sockets.push(socket)
  const send = socket.send.bind(socket)
  socket.send = (data) => {
    const m = typeof data === 'string' ? (JSON.parse(data) as { type?: string; seq?: number }) : {}
    if (m.type === 'ack' && typeof m.seq === 'number') acks.push(m.seq)
    send(data)
  }
  return socket
}
const TappedWebSocket = Object.assign(Tapped, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 }) as unknown as WebSocketConstructor

window.tabsPage = {
  start(subscribe) {
    const url = `ws://${location.host}/ws/events`
    client = new RealtimeClient({ url, shareAcrossTabs: true, reconnect: { minDelay: 50, maxDelay: 500 }, WebSocket: TappedWebSocket })
    client.on('*', (data, meta) => events.push({ seq: meta.seq, event: meta.event, n: (data as { n?: number } | null)?.n }))
    client.on('resync', (info) => resyncs.push(info))
    client.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
    if (subscribe.length > 0) client.subscribe(subscribe)
  },
  state: () => ({
    status: client?.status ?? null,
    events: [...events],
    resyncs: [...resyncs],
    errors: [...errors],
    stats: client?.stats ?? null,
    sockets: sockets.length,
    open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    acks: [...acks],
    lifecycle: [...lifecycle],
  }),
}
