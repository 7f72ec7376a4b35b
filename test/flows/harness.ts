/**
 * Vitest glue for the flow tests: one fake server behind msw per test file, clients that are
 * closed after every test, and a recorder of what a client emitted.
 */
import './quiet-msw.js'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { RealtimeError } from '../../src/errors.js'
import type { ClientOptions, EventMeta, EventSchemas, ResyncInfo, Status } from '../../src/types.js'
import { createFakeServer, type FakeServerOptions } from './fake-server.js'

export const WS_URL = 'wss://api.test/ws/events'
export const POLL_URL = 'https://api.test/api/events'

/** Settings that keep flows fast: short delays, no jitter. */
export const FAST = {
  reconnect: { minDelay: 10, maxDelay: 80, factor: 2, jitter: 0, maxAttempts: 3, connectTimeout: 1000 },
} as const

/**
 * An msw server for a test file (listening from the first test to the last, its per-test handlers
 * reset after each), and `track` for the clients a test makes: they are closed after it, and where
 * its timers are fake, none may be left. `reset` runs after each test too.
 */
export function useMswClients(handlers: Parameters<typeof setupServer>, reset: () => void = () => {}) {
  const server = setupServer(...handlers)
  const clients = new Set<{ close(): void }>()

  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => {
    for (const c of clients) c.close()
    clients.clear()
    if (vi.isFakeTimers()) expect(vi.getTimerCount(), 'timers left after close()').toBe(0)
    reset()
    server.resetHandlers()
    vi.useRealTimers()
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })
  afterAll(() => server.close())

  const track = <C extends { close(): void }>(c: C): C => {
    clients.add(c)
    return c
  }
  return { server, track }
}

export function setupFlows(options: Partial<FakeServerOptions> = {}) {
  const fake = createFakeServer({ url: WS_URL, pollUrl: POLL_URL, ...options })
  const { server, track } = useMswClients([...fake.handlers], () => fake.reset())

  /** A client on the fake server, closed after the test. */
  function client<S extends EventSchemas = EventSchemas>(o: Partial<ClientOptions<S>> & { events?: S } = {}): RealtimeClient<S> {
    return track(new RealtimeClient<S>({ url: WS_URL, ...o } as ClientOptions<S>))
  }

  return { fake, server, client }
}

export interface Recorded {
  statuses: Status[]
  errors: RealtimeError[]
  resyncs: ResyncInfo[]
  /** Every event delivered to `on('*')`. */
  events: { seq: number; event: string; data: unknown }[]
  seqs(): number[]
}

/** Listen to everything a client emits (status from its current value on). */
export function record(c: RealtimeClient<EventSchemas>): Recorded {
  const r: Recorded = {
    statuses: [c.status],
    errors: [],
    resyncs: [],
    events: [],
    seqs: () => r.events.map((e) => e.seq),
  }
  c.on('status', (s) => r.statuses.push(s))
  c.on('error', (e) => r.errors.push(e))
  c.on('resync', (i) => r.resyncs.push(i))
  c.on('*', (data: unknown, meta: EventMeta) => r.events.push({ seq: meta.seq, event: meta.event, data }))
  return r
}

/** 1..n */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)
