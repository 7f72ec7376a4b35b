/**
 * Shared set-up of the adapter tests: a real `RealtimeClient` talking to the msw mock server of
 * `wirefeed/testing`, the wire traffic a test checks, and a check that nothing is left behind.
 */
import '../flows/quiet-msw.js'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest'
import { z } from 'zod'
import { type EventSchemas, RealtimeClient } from '../../src/index.js'
import { sharedConnectionCount } from '../../src/registry.js'
import { createRealtimeMock } from '../../src/testing/index.js'

export const WS_URL = 'wss://api.test/ws/events'

export const events = {
  alert: z.object({ id: z.string(), severity: z.enum(['low', 'high']) }),
  'incident.created': z.object({ id: z.string() }),
}

export type Events = typeof events

/** Quick reconnects, no jitter. */
export const FAST = { minDelay: 10, maxDelay: 80, jitter: 0 }

/** The mock server behind msw for one test file; every handle is closed and checked after each test. */
export function setupAdapterTests() {
  const mock = createRealtimeMock({ url: WS_URL })
  const server = setupServer(...mock.handlers)
  const clients = new Set<RealtimeClient<Events>>()

  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(async () => {
    for (const c of clients) c.close()
    clients.clear()
    await expect.poll(() => sharedConnectionCount()).toBe(0)
    mock.reset()
    server.resetHandlers()
    vi.useRealTimers()
    vi.restoreAllMocks()
  })
  afterAll(() => server.close())

  /** A client made by the test itself (closed after the test). */
  function client(o: { autoConnect?: boolean; subscribe?: string[] } = {}): RealtimeClient<Events> {
    const c = new RealtimeClient({ url: WS_URL, events, reconnect: FAST, ...o })
    clients.add(c)
    return c
  }

  /** `subscribe` and `unsubscribe` frames the server received, in order. */
  const wire = () => mock.received.filter((m) => m.type === 'subscribe' || m.type === 'unsubscribe')

  /**
   * Wait until everything the client sent so far has reached the server: the server pings, and
   * the client's pong comes after whatever it sent before (frames on one socket keep their order).
   */
  let pings = 0
  async function roundTrip(): Promise<void> {
    const id = `sync-${++pings}`
    mock.ping(id)
    await expect.poll(() => mock.received.some((m) => m.type === 'pong' && m.id === id)).toBe(true)
  }

  return { mock, server, client, wire, roundTrip }
}

/** Let queued microtasks (deferred releases) run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

export { sharedConnectionCount }

/**
 * Every listener a handle still holds (server events and built-in events). The handle keeps them
 * private; leak checks read them here, in one place, so a change of representation changes one file.
 */
export function listenersLeft<S extends EventSchemas>(client: RealtimeClient<S>): unknown[] {
  const internals = client as unknown as { listeners: Map<string, unknown[]>; builtin?: { all: Map<string, unknown[]> } }
  return [...internals.listeners.values(), ...(internals.builtin?.all.values() ?? [])].flat()
}
