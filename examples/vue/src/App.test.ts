import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest'
import { createRealtimeMock } from 'wirefeed/testing'
import App from './App.vue'
import { disk, latency, RECONNECT, tls } from '../../shared/fixtures'
import { ALERTS_URL, POLL_URL, WS_URL } from '../../shared/realtime'

// The realtime server, mocked with msw: the app keeps its real client and talks to it.
const mock = createRealtimeMock({ url: WS_URL, pollUrl: POLL_URL })
const server = setupServer(...mock.handlers)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
enableAutoUnmount(afterEach)
afterEach(() => {
  mock.reset()
  server.resetHandlers()
})
afterAll(() => server.close())


function mountApp() {
  const wrapper = mount(App)
  return {
    wrapper,
    badge: () => wrapper.get('[role="status"]').text(),
    shownAlerts: () => wrapper.findAll('ul[aria-label="Latest alerts"] li').map((li) => li.text()),
  }
}

it('goes Live and shows the alerts the server publishes', async () => {
  const { badge, shownAlerts } = mountApp()
  expect(badge()).toBe('Connecting')
  await vi.waitFor(() => expect(badge()).toBe('Live'))
  await mock.waitForSubscribed(['alert'])

  mock.publish('alert', disk)
  mock.publish('alert', latency)
  await vi.waitFor(() => expect(shownAlerts()).toEqual(['web-1: p99 latency above 800 ms', 'db-1: disk 91% full']))
})

it('rides out a dropped connection: Reconnecting, then Live, and nothing is lost', async () => {
  const { badge, shownAlerts } = mountApp()
  await mock.waitForSubscribed(['alert'])
  mock.publish('alert', disk)
  await vi.waitFor(() => expect(shownAlerts()).toEqual(['db-1: disk 91% full']))

  mock.dropConnection()
  await vi.waitFor(() => expect(badge()).toBe('Reconnecting'))
  mock.publish('alert', latency) // published while the app is offline

  await vi.waitFor(() => expect(badge()).toBe('Live'), RECONNECT)
  await vi.waitFor(() => expect(shownAlerts()).toEqual(['web-1: p99 latency above 800 ms', 'db-1: disk 91% full']))
})

it('says it is refreshing when the server lost the session, then shows the alerts reloaded from the API', async () => {
  let answer = () => {}
  const answered = new Promise<void>((resolve) => (answer = resolve))
  server.use(
    http.get(ALERTS_URL, async () => {
      await answered
      return HttpResponse.json([tls, disk])
    }),
  )
  const { wrapper, badge, shownAlerts } = mountApp()
  await mock.waitForSubscribed(['alert'])
  mock.publish('alert', disk)
  await vi.waitFor(() => expect(shownAlerts()).toEqual(['db-1: disk 91% full']))

  // the server restarts: the app's session is gone, and so is what was published meanwhile
  mock.forgetSessions()
  mock.dropConnection()
  await vi.waitFor(() => expect(wrapper.find('[role="alert"]').text()).toMatch(/refreshing the alerts/i), RECONNECT)
  expect(badge()).toBe('Live')

  answer()
  await vi.waitFor(() => expect(wrapper.find('[role="alert"]').exists()).toBe(false))
  expect(shownAlerts()).toEqual(['web-2: TLS certificate expires in 6 days', 'db-1: disk 91% full'])
})

it('subscribes to incidents while the toggle is on', async () => {
  const { wrapper } = mountApp()
  await mock.waitForSubscribed(['alert'])

  await wrapper.get('input[type="checkbox"]').setValue(true)
  await vi.waitFor(() => mock.expectSubscribed(['alert', 'incident.*']))
  mock.publish('incident.created', { id: 'inc-1', severity: 'high', title: 'Checkout latency' })
  await vi.waitFor(() => expect(wrapper.text()).toContain('Latest incident: Checkout latency'))

  await wrapper.get('input[type="checkbox"]').setValue(false)
  await vi.waitFor(() => mock.expectSubscribed(['alert']))
  await flushPromises()
  expect(wrapper.text()).not.toContain('Latest incident')
})
