/**
 * The page of test/e2e/browser-conditions.test.ts: an app bundled by esbuild from the built package
 * (the test resolves `wirefeed` to dist/index.js), connected to the reference server of the page's
 * own origin.
 *
 * From the moment the script runs, the page notes every browser signal the client reacts to
 * (`online`, `offline`, `pageshow`, `visibilitychange`, `freeze`, `resume`), each with the time it
 * happened (`performance.now()`). These listeners are added before any client exists, so for one
 * event they run before the client's own: the client's reaction (a status change, recorded in the
 * same task) never carries an earlier time than the signal that caused it.
 */
import { type ClientOptions, RealtimeClient, type ResyncInfo, type Stats, type Status } from 'wirefeed'

/** The options a test may choose; the URLs and the rest are the page's. */
export type StartOptions = Pick<ClientOptions, 'heartbeat' | 'reconnect' | 'polling'> & {
  /** Give the client the server's `pollUrl` (with `polling`, or `polling: false` without). */
  fallback: boolean
}

export interface PageState {
  status: Status | null
  /** Every status change after `start()`, with its time. */
  statuses: { at: number; status: Status }[]
  events: { seq: number; event: string; data: unknown }[]
  /** When each of `events` arrived. */
  arrivals: number[]
  resyncs: ResyncInfo[]
  errors: { code: string; message: string }[]
  /** Browser signals, with their time: `online`, `offline`, `pageshow`, `freeze`, `resume`, `visible`, `hidden`. */
  signals: { at: number; signal: string }[]
  visibility: DocumentVisibilityState
  stats: Stats | null
}

export interface ConditionsPage {
  start(options: StartOptions): void
  close(): void
  state(): PageState
}

declare global {
  interface Window {
    conditionsPage: ConditionsPage
  }
}

const signals: PageState['signals'] = []
const note = (signal: string): void => void signals.push({ at: performance.now(), signal })
for (const type of ['online', 'offline', 'pageshow']) addEventListener(type, () => note(type))
for (const type of ['freeze', 'resume']) document.addEventListener(type, () => note(type))
document.addEventListener('visibilitychange', () => note(document.visibilityState))

let client: RealtimeClient | undefined
const statuses: PageState['statuses'] = []
const events: PageState['events'] = []
const arrivals: number[] = []
const resyncs: ResyncInfo[] = []
const errors: PageState['errors'] = []

window.conditionsPage = {
  start({ fallback, ...options }) {
    if (client) throw new Error('started twice')
    const urls = fallback ? { url: `ws://${location.host}/ws/events`, pollUrl: `${location.origin}/api/events` } : { url: `ws://${location.host}/ws/events`, polling: false as const }
    const c = new RealtimeClient({ ...urls, ...options })
    client = c
    c.on('status', (status) => void statuses.push({ at: performance.now(), status }))
    c.on('*', (data, meta) => {
      events.push({ seq: meta.seq, event: meta.event, data })
      arrivals.push(performance.now())
    })
    c.on('resync', (info) => void resyncs.push(info))
    c.on('error', (e) => void errors.push({ code: e.code, message: e.message }))
  },
  close: () => client?.close(),
  state: () => ({
    status: client?.status ?? null,
    statuses,
    events,
    arrivals,
    resyncs,
    errors,
    signals,
    visibility: document.visibilityState,
    stats: client ? { ...client.stats } : null,
  }),
}
