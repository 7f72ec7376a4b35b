// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/svelte'
import { get } from 'svelte/store'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { realtimeStores } from '../../src/svelte/index.js'
import Alerts from './Alerts.svelte'
import { listenersLeft, settle, setupAdapterTests, sharedConnectionCount } from './helpers.js'

const { mock, client, wire } = setupAdapterTests()

afterEach(() => cleanup())

const alert = (id: string, severity: 'low' | 'high' = 'low') => mock.publish('alert', { id, severity })

describe('realtimeStores', () => {
  it('connect on the first subscriber and close the handle they opened after the last one leaves', async () => {
    const c = client({ autoConnect: false, subscribe: ['alert'] })
    const { status, latest, events } = realtimeStores(c, 'alert')
    await settle()
    expect(c.status).toBe('idle') // made, not subscribed: nothing happens

    const statuses: string[] = []
    const offStatus = status.subscribe((s) => statuses.push(s))
    expect(c.status).toBe('connecting')
    await expect.poll(() => statuses).toEqual(['connecting', 'open']) // it connected before the first value went out
    const offLatest = latest.subscribe(() => {})
    const offEvents = events.subscribe(() => {})
    expect(mock.connections).toBe(1)

    alert('a1', 'high')
    await expect.poll(() => get(latest)?.data).toEqual({ id: 'a1', severity: 'high' })
    expect(get(latest)?.meta.seq).toBe(1)

    // the last subscriber of all three stores: released a microtask later
    offStatus()
    offLatest()
    await settle()
    expect(c.status).toBe('open')
    offEvents()
    expect(c.status).toBe('open')
    await settle()
    expect(c.status).toBe('closed')
    expect(sharedConnectionCount()).toBe(0)
    await expect.poll(() => mock.openSockets).toBe(0)
    expect(wire()).toEqual([])

    // a new first subscriber connects again; the values were kept
    expect(get(events).map((e) => e.data.id)).toEqual(['a1'])
    const off = events.subscribe(() => {})
    await expect.poll(() => c.status).toBe('open')
    expect(mock.connections).toBe(2)
    off()
  })

  it('a client that was already connected stays connected after the last subscriber', async () => {
    const c = client()
    await expect.poll(() => c.status).toBe('open')
    const { status } = realtimeStores(c, 'alert')
    const off = status.subscribe(() => {})
    expect(get(status)).toBe('open')
    off()
    await settle()
    expect(c.status).toBe('open')
    expect(mock.connections).toBe(1)
  })

  it('unsubscribe then subscribe in the same tick keeps the socket', async () => {
    const c = client({ autoConnect: false })
    const { status } = realtimeStores(c, '*')
    const off = status.subscribe(() => {})
    await expect.poll(() => c.status).toBe('open')
    off()
    const again = status.subscribe(() => {})
    await settle()
    expect(c.status).toBe('open')
    expect(mock.connections).toBe(1)
    again()
  })

  it('events keeps the latest `max`, oldest first', async () => {
    const c = client()
    const { events, latest } = realtimeStores(c, 'alert', { max: 3 })
    const off = events.subscribe(() => {})
    await expect.poll(() => c.status).toBe('open')
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) alert(id)
    await expect.poll(() => get(latest)?.data.id).toBe('a5')
    expect(get(events).map((e) => [e.data.id, e.meta.seq])).toEqual([
      ['a3', 3],
      ['a4', 4],
      ['a5', 5],
    ])
    off()
  })

  it("'*' collects every event with its name", async () => {
    const c = client()
    const { events } = realtimeStores(c, '*', { max: 10 })
    const off = events.subscribe(() => {})
    await expect.poll(() => c.status).toBe('open')
    alert('a1')
    mock.publish('incident.created', { id: 'i1' })
    await expect.poll(() => get(events).map((e) => e.meta.event)).toEqual(['alert', 'incident.created'])
    off()
  })

  it('leave no timer, listener or socket behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const c = client({ autoConnect: false })
    const { status, latest, events } = realtimeStores(c, 'alert')
    const offs = [status, latest, events].map((s) => s.subscribe(() => {}))
    await expect.poll(() => c.status).toBe('open')
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    for (const off of offs) off()
    await settle()
    expect(c.status).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    expect(listenersLeft(c)).toEqual([])
  })
})

describe('realtimeStores in a Svelte 5 component', () => {
  it('renders the status, the latest event and a capped list, and releases on unmount', async () => {
    const c = client({ autoConnect: false, subscribe: ['alert'] })
    const { unmount } = render(Alerts, { props: { client: c, max: 2 } })
    await expect.poll(() => screen.getByTestId('status').textContent).toBe('open')
    expect(screen.getByTestId('latest').textContent).toBe('none')

    alert('a1', 'high')
    alert('a2')
    alert('a3')
    await expect.poll(() => screen.getByTestId('latest').textContent).toBe('a3:low')
    expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['a2', 'a3'])

    // status re-renders through a reconnect
    const seen: string[] = []
    c.on('status', (s) => seen.push(s))
    mock.dropConnection()
    await expect.poll(() => seen, { timeout: 5000 }).toEqual(['reconnecting', 'open'])
    await expect.poll(() => screen.getByTestId('status').textContent).toBe('open')

    unmount()
    await settle()
    expect(c.status).toBe('closed')
    await expect.poll(() => mock.openSockets).toBe(0)
    expect(wire()).toEqual([])
  })

  it('two components on one client share one connection, which closes with the last', async () => {
    const c = client({ autoConnect: false })
    const first = render(Alerts, { props: { client: c } })
    const second = render(Alerts, { props: { client: c } })
    await expect.poll(() => screen.getAllByTestId('status').map((p) => p.textContent)).toEqual(['open', 'open'])
    expect(mock.connections).toBe(1)
    first.unmount()
    await settle()
    expect(c.status).toBe('open')
    second.unmount()
    await settle()
    expect(c.status).toBe('closed')
  })
})
