/**
 * Shared set-up of the `wirefeed/testing` tests: the mock of one URL pair behind msw, and the
 * clients a test made, closed after it (the mock and msw's handlers reset too).
 */
import '../flows/quiet-msw.js'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { RealtimeClient } from '../../src/index.js'
import { createRealtimeMock } from '../../src/testing/index.js'

/** Short delays, no jitter: every recovery in these tests takes milliseconds. */
export const FAST = { reconnect: { minDelay: 10, maxDelay: 50, jitter: 0, maxAttempts: 2, connectTimeout: 1000 } }

export function useMock(url: string, pollUrl: string) {
  const mock = createRealtimeMock({ url, pollUrl })
  const server = setupServer(...mock.handlers)
  const clients: RealtimeClient[] = []
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => {
    for (const c of clients.splice(0)) c.close()
    mock.reset()
    server.resetHandlers()
  })
  afterAll(() => server.close())
  return { mock, server, clients }
}
