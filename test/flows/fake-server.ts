/**
 * The flow tests' fake server is the public testing kit (`wirefeed/testing`, src/testing/): the
 * same mock an app's own tests use, under the names the flow tests were written with. It knows
 * nothing about the test runner: `harness.ts` hands its `handlers` to msw's `setupServer` and calls
 * `reset()` between tests.
 */
export {
  createRealtimeMock as createFakeServer,
  type ClientMessage,
  type EventFrame,
  type MockSession as FakeSession,
  type PollRecord,
  type PublishOptions,
  type RealtimeMock as FakeServer,
  type RealtimeMockOptions as FakeServerOptions,
  type Refusal,
} from '../../src/testing/index.js'
