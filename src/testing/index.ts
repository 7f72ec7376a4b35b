/**
 * `wirefeed/testing`: the server side of wire protocol v1 as [msw](https://mswjs.io) handlers, for
 * an app's own tests. The app keeps its real `RealtimeClient` (or the React, Vue or Svelte helpers
 * around it); the mock answers its WebSocket and its HTTP polling, issues events with seq numbers,
 * keeps sessions that a reconnecting client resumes, and lets the test break the link on purpose.
 *
 * `msw` (v2, with WebSocket support) is a peer dependency. This module imports only `msw` itself, so
 * the same handlers work with `setupServer` from `msw/node` and with `setupWorker` from
 * `msw/browser`. WebSocket interception needs no service worker; HTTP polling in a browser does
 * (msw's `mockServiceWorker.js`). Nothing runs at import time, so importing it during server-side
 * rendering or in plain Node is safe.
 *
 * @example
 * // alerts.test.ts (vitest, jest, node:test: nothing here depends on the runner)
 * import { setupServer } from 'msw/node'
 * import { RealtimeClient } from 'wirefeed'
 * import { createRealtimeMock } from 'wirefeed/testing'
 *
 * const mock = createRealtimeMock({
 *   url: 'wss://api.example.com/ws/events',
 *   pollUrl: 'https://api.example.com/api/events',
 * })
 * const server = setupServer(...mock.handlers)
 * beforeAll(() => server.listen())
 * afterEach(() => {
 *   mock.reset()
 *   server.resetHandlers()
 * })
 * afterAll(() => server.close())
 *
 * it('delivers alerts, and what was missed while the link was down', async () => {
 *   const client = new RealtimeClient({ url: 'wss://api.example.com/ws/events', subscribe: ['alert'] })
 *   const seen: number[] = []
 *   client.on('alert', (_data, meta) => seen.push(meta.seq))
 *
 *   await mock.waitForSubscribed(['alert'])
 *   mock.publish('alert', { id: '1', severity: 'high' }) // seq 1
 *
 *   mock.dropConnection()
 *   mock.publish('alert', { id: '2', severity: 'low' }) // seq 2, buffered for the session
 *   await mock.waitFor(() => seen.length === 2)          // the client resumed and got it
 *   expect(mock.messages('hello').at(-1)).toMatchObject({ session: 's-1', after: 1 })
 *   client.close()
 * })
 *
 * // In a browser (Storybook, Playwright component tests, a dev build):
 * // import { setupWorker } from 'msw/browser'
 * // await setupWorker(...mock.handlers).start()
 *
 * @module
 */
export {
  createRealtimeMock,
  type ClientMessage,
  type EventFrame,
  type FailPollsOptions,
  type MockSession,
  type PollRecord,
  type PostRecord,
  type PublishOptions,
  type RealtimeMock,
  type RealtimeMockOptions,
  type Refusal,
  type ServerMessage,
  type WaitForOptions,
  type WireMessage,
} from './mock.js'
