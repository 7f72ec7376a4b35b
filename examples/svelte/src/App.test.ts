import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { createRealtimeMock } from 'wirefeed/testing'
import App from './App.svelte'
import { disk, latency, RECONNECT, tls } from '../../shared/fixtures'
import { ALERTS_URL, POLL_URL, WS_URL } from '../../shared/realtime'

// The realtime server, mocked with msw: the app keeps its real client and talks to it.
const mock = createRealtimeMock({ url: WS_URL, pollUrl: POLL_URL })
const server = setupServer(...mock.handlers)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterEach(() => {
  cleanup()
  mock.reset()
  server.resetHandlers()
})
afterAll(() => server.close())


const badge = () => screen.getByRole('status').textContent
const shownAlerts = () =>
  within(screen.getByRole('list', { name: 'Latest alerts' }))
    .queryAllByRole('listitem')
    .map((li) => li.textContent)

it('goes Live and shows the alerts the server publishes', async () => {
  render(App)
  expect(badge()).toBe('Connecting')
  await waitFor(() => expect(badge()).toBe('Live'))
  await mock.waitForSubscribed(['alert'])

  mock.publish('alert', disk)
  mock.publish('alert', latency)
  await screen.findByText('web-1: p99 latency above 800 ms')
  expect(shownAlerts()).toEqual(['web-1: p99 latency above 800 ms', 'db-1: disk 91% full'])
})

it('rides out a dropped connection: Reconnecting, then Live, and nothing is lost', async () => {
  render(App)
  await mock.waitForSubscribed(['alert'])
  mock.publish('alert', disk)
  await screen.findByText('db-1: disk 91% full')

  mock.dropConnection()
  await waitFor(() => expect(badge()).toBe('Reconnecting'))
  mock.publish('alert', latency) // published while the app is offline

  await waitFor(() => expect(badge()).toBe('Live'), RECONNECT)
  await screen.findByText('web-1: p99 latency above 800 ms')
  expect(shownAlerts()).toEqual(['web-1: p99 latency above 800 ms', 'db-1: disk 91% full'])
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
  render(App)
  await mock.waitForSubscribed(['alert'])
  mock.publish('alert', disk)
  await screen.findByText('db-1: disk 91% full')

  // the server restarts: the app's session is gone, and so is what was published meanwhile
  mock.forgetSessions()
  mock.dropConnection()
  const banner = await screen.findByRole('alert', {}, RECONNECT)
  expect(banner.textContent).toMatch(/refreshing the alerts/i)
  expect(badge()).toBe('Live')

  answer()
  await waitFor(() => expect(screen.queryByRole('alert')).toBeNull())
  expect(shownAlerts()).toEqual(['web-2: TLS certificate expires in 6 days', 'db-1: disk 91% full'])
})

it('subscribes to incidents while the toggle is on', async () => {
  render(App)
  await waitFor(() => mock.expectSubscribed(['alert']))

  await fireEvent.click(screen.getByRole('checkbox', { name: 'Incidents' }))
  await waitFor(() => mock.expectSubscribed(['alert', 'incident.*']))
  mock.publish('incident.created', { id: 'inc-1', severity: 'high', title: 'Checkout latency' })
  await screen.findByText('Latest incident: Checkout latency')

  await fireEvent.click(screen.getByRole('checkbox', { name: 'Incidents' }))
  await waitFor(() => mock.expectSubscribed(['alert']))
  expect(screen.queryByText(/Latest incident/)).toBeNull()
})
