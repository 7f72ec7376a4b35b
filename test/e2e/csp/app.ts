/**
 * The page of test/e2e/csp.test.ts: an app bundled by esbuild, served as the only script of a page
 * whose Content-Security-Policy allows scripts from 'self' alone (no 'unsafe-eval', no
 * 'unsafe-inline'). It imports `RealtimeClient` by the package name (the test resolves it to the
 * built dist/index.js) and classic zod, as an app would, and connects to the reference server of
 * the page's own origin.
 *
 * The app starts itself, from its query string (`?mode=plain|zod-jitless|zod&polling=0|1`), when
 * the script runs. It must not be started from the test through `page.evaluate`: code that runs
 * inside a DevTools evaluation is exempt from the CSP's ban on `eval` in Chromium, so zod's probe
 * for `new Function` would succeed there and nothing else would. The test only reads the state,
 * and asks for the `new Function` check, which the page then runs in a task of its own.
 */
import { violations, type Violation } from './violations.js'
import { type EventMeta, type EventSchemas, RealtimeClient, type Status } from 'wirefeed'
import { z } from 'zod'

/**
 * - `plain`: no schema; every event reaches a `'*'` listener as sent.
 * - `zod-jitless`: the `alert` event has a classic zod schema, after `z.config({ jitless: true })`.
 * - `zod`: the same schema with zod's default settings (it probes whether it may compile parsers).
 */
export type Mode = 'plain' | 'zod-jitless' | 'zod'

/** Read from the page's query string. */
export interface StartOptions {
  mode: Mode
  /** Give the client the server's `pollUrl` and let it fall back after one failed WebSocket attempt. */
  polling: boolean
}

export interface PageState {
  status: Status | null
  /** The status at construction, then every change. */
  statuses: Status[]
  transport: 'websocket' | 'polling' | null
  events: { seq: number; event: string; data: unknown }[]
  /** `cause` is the name of the underlying error, if any (`EvalError` for a schema that tried to compile). */
  errors: { code: string; event: string | undefined; seq: number | undefined; cause: string | undefined }[]
  violations: Violation[]
  /** The outcome of `checkEval()`: the name of what `new Function` threw, `'allowed'`, or null before it ran. */
  evalCheck: string | null
}

export interface CspPage {
  options: StartOptions
  close(): void
  state(): PageState
  /** Schedule `new Function('return 1')` in a task of the page's own; its outcome lands in `state().evalCheck`. */
  checkEval(): void
}

declare global {
  interface Window {
    cspPage: CspPage
  }
}

let client: Pick<RealtimeClient, 'status' | 'stats' | 'close'> | undefined
const statuses: Status[] = []
const events: PageState['events'] = []
const errors: PageState['errors'] = []
let evalCheck: string | null = null

const record = (data: unknown, meta: EventMeta): void => void events.push({ seq: meta.seq, event: meta.event, data })

/** Record the client's statuses and errors, from its construction on. */
function watch<S extends EventSchemas>(c: RealtimeClient<S>): void {
  client = c
  statuses.push(c.status)
  c.on('status', (s) => statuses.push(s))
  c.on('error', (e) => errors.push({ code: e.code, event: e.event, seq: e.seq, cause: e.cause instanceof Error ? e.cause.name : undefined }))
}

function start({ mode, polling }: StartOptions): void {
  const clientOptions = {
    url: `ws://${location.host}/ws/events`,
    ...(polling ? { pollUrl: `${location.origin}/api/events`, polling: { interval: 100, wait: 2000, upgradeInterval: 60_000 } } : { polling: false as const }),
    subscribe: ['alert'],
    reconnect: { minDelay: 50, maxDelay: 200, jitter: 0, maxAttempts: 1, connectTimeout: 3000 },
  }
  if (mode === 'plain') {
    const c = new RealtimeClient(clientOptions)
    watch(c)
    c.on('*', record)
  } else {
    // before the first schema is created: zod decides whether to compile parsers when it builds one
    if (mode === 'zod-jitless') z.config({ jitless: true })
    // unknown keys are stripped and a missing severity defaults to 'low': what arrives is zod's output
    const alert = z.object({ id: z.string(), severity: z.enum(['low', 'high']).default('low') })
    const c = new RealtimeClient({ ...clientOptions, events: { alert } })
    watch(c)
    c.on('alert', record)
  }
}

function optionsFromQuery(): StartOptions {
  const query = new URLSearchParams(location.search)
  const mode = query.get('mode')
  if (mode !== 'plain' && mode !== 'zod-jitless' && mode !== 'zod') throw new Error(`unknown mode ${String(mode)}`)
  return { mode, polling: query.get('polling') === '1' }
}

const options = optionsFromQuery()
start(options)

window.cspPage = {
  options,
  close: () => client?.close(),
  state: () => ({
    status: client?.status ?? null,
    statuses,
    transport: client?.stats.transport ?? null,
    events,
    errors,
    violations,
    evalCheck,
  }),
  checkEval() {
    setTimeout(() => {
      try {
        new Function('return 1')
        evalCheck = 'allowed'
      } catch (error) {
        evalCheck = error instanceof Error ? error.name : String(error)
      }
    }, 0)
  },
}
