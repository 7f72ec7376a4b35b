import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest'
import { createRealtimeMock } from 'wirefeed/testing'
import { mountAlertsPanel } from './panel'
import { disk, latency, RECONNECT, tls } from '../../shared/fixtures'
import { ALERTS_URL, POLL_URL, WS_URL } from '../../shared/realtime'

// The realtime server, mocked with msw: the app keeps its real client and talks to it.
const mock = createRealtimeMock({ url: WS_URL, pollUrl: POLL_URL })
const server = setupServer(...mock.handlers)

let unmount = () => {}
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
beforeEach(() => {
  document.body.innerHTML = '<div id="app"></div>'
  unmount = mountAlertsPanel(document.getElementById('app') as HTMLElement)
})
afterEach(() => {
  unmount()
  mock.reset()
  server.resetHandlers()
})
afterAll(() => server.close())


const element = <T extends HTMLElement = HTMLElement>(selector: string) => document.querySelector(selector) as T
const badge = () => element('[role="status"]').textContent
const banner = () => element('[role="alert"]')
const shownAlerts = () => Array.from(document.querySelectorAll('ul[aria-label="Latest alerts"] li'), (li) => li.textContent)
const incidents = () => element<HTMLInputElement>('input[type="checkbox"]')

it('goes Live and shows the alerts the server publishes', async () => {
  expect(badge()).toBe('Connecting')
  await vi.waitFor(() => expect(badge()).toBe('Live'))
  await mock.waitForSubscribed(['alert'])

  mock.publish('alert', disk)
  mock.publish('alert', latency)
  await vi.waitFor(() => expect(shownAlerts()).toEqual(['web-1: p99 latency above 800 ms', 'db-1: disk 91% full']))
  expect(element('li').className).toBe('low')
})

it('rides out a dropped connection: Reconnecting, then Live, and nothing is lost', async () => {
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
  await mock.waitForSubscribed(['alert'])
  mock.publish('alert', disk)
  await vi.waitFor(() => expect(shownAlerts()).toEqual(['db-1: disk 91% full']))
  expect(banner().hidden).toBe(true)

  // the server restarts: the app's session is gone, and so is what was published meanwhile
  mock.forgetSessions()
  mock.dropConnection()
  await vi.waitFor(() => expect(banner().hidden).toBe(false), RECONNECT)
  expect(banner().textContent).toMatch(/refreshing the alerts/i)
  expect(badge()).toBe('Live')

  answer()
  await vi.waitFor(() => expect(banner().hidden).toBe(true))
  expect(shownAlerts()).toEqual(['web-2: TLS certificate expires in 6 days', 'db-1: disk 91% full'])
})

it('subscribes to incidents while the toggle is on', async () => {
  await mock.waitForSubscribed(['alert'])

  incidents().click()
  await vi.waitFor(() => mock.expectSubscribed(['alert', 'incident.*']))
  mock.publish('incident.created', { id: 'inc-1', severity: 'high', title: 'Checkout latency' })
  await vi.waitFor(() => expect(element('.incident').textContent).toBe('Latest incident: Checkout latency'))
  expect(element('.incident').hidden).toBe(false)

  incidents().click()
  await vi.waitFor(() => mock.expectSubscribed(['alert']))
  expect(element('.incident').hidden).toBe(true)
})
