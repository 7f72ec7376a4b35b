// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react'
import { StrictMode, useState } from 'react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RealtimeClient } from '../../src/index.js'
import { useRealtime, useRealtimeEvent, useRealtimeStatus, useRealtimeSubscription } from '../../src/react/index.js'
import { type Events, events, FAST, listenersLeft, settle, setupAdapterTests, sharedConnectionCount, WS_URL } from './helpers.js'

const { mock, client, wire, roundTrip } = setupAdapterTests()

afterEach(() => cleanup())

type Alert = { id: string; severity: 'low' | 'high' }

/** A dashboard as an app would write it: its own handle, the status, a live list. */
function Dashboard({ patterns = ['alert'], dedupeKey }: { patterns?: string[]; dedupeKey?: string }) {
  const c = useRealtime({ url: WS_URL, events, reconnect: FAST, ...(dedupeKey === undefined ? {} : { dedupeKey }) })
  const status = useRealtimeStatus(c)
  const [alerts, setAlerts] = useState<Alert[]>([])
  useRealtimeSubscription(c, patterns)
  useRealtimeEvent(c, 'alert', (alert) => setAlerts((list) => [...list, alert]))
  return (
    <div>
      <p data-testid="status">{status}</p>
      <ul>
        {alerts.map((a) => (
          <li key={a.id}>{`${a.id}:${a.severity}`}</li>
        ))}
      </ul>
    </div>
  )
}

const shown = () => screen.getByTestId('status').textContent

describe('useRealtime(options) with useRealtimeStatus and useRealtimeEvent', () => {
  it('renders the status as it changes and the events as they arrive', async () => {
    const statuses: string[] = []
    function Probe() {
      const c = useRealtime({ url: WS_URL, events, reconnect: FAST })
      statuses.push(useRealtimeStatus(c))
      return null
    }
    render(
      <>
        <Dashboard />
        <Probe />
      </>,
    )
    await expect.poll(shown).toBe('open')
    expect(statuses[0]).toBe('idle') // the first render happens before the effect connects
    expect([...new Set(statuses)]).toEqual(['idle', 'connecting', 'open'])

    act(() => void mock.publish('alert', { id: 'a1', severity: 'high' }))
    act(() => void mock.publish('alert', { id: 'a2', severity: 'low' }))
    await expect.poll(() => screen.queryAllByRole('listitem').map((li) => li.textContent)).toEqual(['a1:high', 'a2:low'])

    // the server drops the link: the status re-renders through reconnecting back to open
    const before = statuses.length
    act(() => mock.dropConnection())
    await expect.poll(() => [...new Set(statuses.slice(before))]).toEqual(['reconnecting', 'open'])
    expect(shown()).toBe('open')
  })

  it('two components with the same url share one socket; unmount closes it with the last handle', async () => {
    const { unmount } = render(
      <>
        <Dashboard />
        <Dashboard />
      </>,
    )
    await expect.poll(() => screen.getAllByTestId('status').map((p) => p.textContent)).toEqual(['open', 'open'])
    expect(mock.connections).toBe(1)
    expect(sharedConnectionCount()).toBe(1)
    // the pattern is reference-counted: it went in `hello`, and nothing since
    expect(mock.messages('hello').map((m) => m.events)).toEqual([['alert']])
    await roundTrip()
    expect(wire()).toEqual([])

    unmount()
    await settle()
    expect(sharedConnectionCount()).toBe(0)
    await expect.poll(() => mock.openSockets).toBe(0)
    // the last handle closed the socket: no `unsubscribe` on the way out
    expect(wire()).toEqual([])
  })

  it('StrictMode: the double mount opens one socket, resolves the url once and sends nothing twice', async () => {
    // a url function stands for an app that fetches a token before each attempt
    const urlCalls = vi.fn(() => WS_URL)
    const statuses: string[] = []
    let handle: RealtimeClient<Events> | undefined
    function Strict() {
      handle = useRealtime({ url: urlCalls, events })
      useRealtimeSubscription(handle, ['alert', 'incident.*'])
      useRealtimeEvent(handle, 'status', (s) => statuses.push(s))
      const status = useRealtimeStatus(handle)
      const [ids, setIds] = useState<string[]>([])
      useRealtimeEvent(handle, 'alert', (alert) => setIds((list) => [...list, alert.id]))
      return (
        <div>
          <p data-testid="status">{status}</p>
          <ul>
            {ids.map((id) => (
              <li key={id}>{id}</li>
            ))}
          </ul>
        </div>
      )
    }
    const { unmount } = render(
      <StrictMode>
        <Strict />
      </StrictMode>,
    )
    await expect.poll(() => handle?.status).toBe('open')
    await expect.poll(shown).toBe('open')
    await roundTrip()
    expect(mock.connections).toBe(1)
    expect(urlCalls).toHaveBeenCalledTimes(1)
    // the handle was never closed and connected again in between
    expect(statuses).toEqual(['open'])
    expect(mock.received.map((m) => m.type)).toEqual(['hello', 'pong'])
    expect(mock.messages('hello')[0]?.events).toEqual(['alert', 'incident.*'])

    // one listener for `alert` despite the double effect: each event renders once
    act(() => void mock.publish('alert', { id: 'a1', severity: 'high' }))
    await expect.poll(() => screen.queryAllByRole('listitem').map((li) => li.textContent)).toEqual(['a1'])
    await roundTrip()
    expect(screen.getAllByRole('listitem')).toHaveLength(1)

    unmount()
    await settle()
    expect(handle?.status).toBe('closed')
    await expect.poll(() => mock.openSockets).toBe(0)
    expect(mock.connections).toBe(1)
    expect(wire()).toEqual([])
  })

  it('unmount: the handle is closed and no timer, listener or socket is left', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    let handle: RealtimeClient<Events> | undefined
    function Owner() {
      handle = useRealtime({ url: WS_URL, events, heartbeat: { interval: 1000 } })
      useRealtimeStatus(handle)
      useRealtimeEvent(handle, 'alert', () => {})
      useRealtimeEvent(handle, 'error', () => {})
      return null
    }
    const { unmount } = render(<Owner />)
    await expect.poll(() => handle?.status).toBe('open')
    expect(vi.getTimerCount()).toBeGreaterThan(0) // heartbeat, stability timer
    const on = vi.spyOn(handle as RealtimeClient<Events>, 'on')

    unmount()
    await settle()
    expect(handle?.status).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    expect(sharedConnectionCount()).toBe(0)
    await expect.poll(() => mock.openSockets).toBe(0)
    expect(on).not.toHaveBeenCalled()
    // every listener was removed: an event would reach nobody
    expect(listenersLeft(handle!)).toEqual([])
  })

  it('changing the dedupeKey closes the handle and connects a new one; other option changes do not', async () => {
    const { rerender } = render(<Dashboard dedupeKey="a" />)
    await expect.poll(shown).toBe('open')
    rerender(<Dashboard dedupeKey="a" patterns={['alert']} />) // a new options object, the same key
    await roundTrip()
    expect(mock.connections).toBe(1)

    rerender(<Dashboard dedupeKey="b" />)
    await expect.poll(() => mock.connections).toBe(2)
    await expect.poll(shown).toBe('open')
    await expect.poll(() => mock.openSockets).toBe(1)
    expect(sharedConnectionCount()).toBe(1)
  })
})

describe('useRealtime(client)', () => {
  it('passes the client through, and neither connects nor closes it', async () => {
    const c = client({ autoConnect: false })
    let got: unknown
    function Probe() {
      got = useRealtime(c)
      return <p data-testid="status">{useRealtimeStatus(got as typeof c)}</p>
    }
    const { unmount } = render(<Probe />)
    expect(got).toBe(c)
    await settle()
    expect(c.status).toBe('idle')
    expect(shown()).toBe('idle')

    act(() => c.connect())
    await expect.poll(shown).toBe('open')
    unmount()
    await settle()
    expect(c.status).toBe('open')
  })
})

describe('useRealtimeEvent', () => {
  it('calls the latest handler without registering the listener again on each render', async () => {
    const c = client()
    const on = vi.spyOn(c, 'on')
    const seen: string[] = []
    function Feed({ label }: { label: string }) {
      useRealtimeEvent(c, 'alert', (alert, meta) => seen.push(`${label}:${alert.id}:${meta.seq}`))
      return null
    }
    const { rerender } = render(<Feed label="first" />)
    await expect.poll(() => c.status).toBe('open')
    mock.publish('alert', { id: 'a1', severity: 'low' })
    await expect.poll(() => seen).toEqual(['first:a1:1'])

    for (const label of ['second', 'third', 'fourth']) rerender(<Feed label={label} />)
    mock.publish('alert', { id: 'a2', severity: 'high' })
    await expect.poll(() => seen).toEqual(['first:a1:1', 'fourth:a2:2'])
    expect(on.mock.calls.map(([event]) => event as string)).toEqual(['alert'])
  })

  it('types and delivers built-in events, and re-registers only when the event changes', async () => {
    const c = client({ autoConnect: false })
    const on = vi.spyOn(c, 'on')
    const statuses: string[] = []
    function Watch({ event }: { event: 'alert' | 'incident.created' }) {
      useRealtimeEvent(c, 'status', (s) => statuses.push(s))
      useRealtimeEvent(c, event, () => {})
      return null
    }
    const { rerender } = render(<Watch event="alert" />)
    act(() => c.connect())
    await expect.poll(() => statuses).toEqual(['connecting', 'open'])
    rerender(<Watch event="alert" />)
    rerender(<Watch event="incident.created" />)
    expect(on.mock.calls.map(([event]) => event)).toEqual(['status', 'alert', 'incident.created'])
  })

  it('passes throttle through to client.on', async () => {
    const c = client()
    const on = vi.spyOn(c, 'on')
    function Feed() {
      useRealtimeEvent(c, 'alert', () => {}, { throttle: 500 })
      return null
    }
    const { rerender } = render(<Feed />)
    rerender(<Feed />)
    expect(on.mock.calls).toEqual([['alert', expect.any(Function), { throttle: 500 }]])
  })
})

describe('useRealtimeSubscription', () => {
  it('subscribes on mount, keeps an equal inline array, swaps changes, and unsubscribes on unmount', async () => {
    const c = client()
    await expect.poll(() => c.status).toBe('open')
    function Panel({ patterns }: { patterns: string[] }) {
      useRealtimeSubscription(c, patterns)
      return null
    }
    const { rerender, unmount } = render(<Panel patterns={['incident.*']} />)
    await expect.poll(wire).toEqual([{ type: 'subscribe', events: ['incident.*'] }])

    rerender(<Panel patterns={['incident.*']} />) // equal, but a new array
    await roundTrip()
    expect(wire()).toHaveLength(1)

    rerender(<Panel patterns={['incident.*', 'host.**']} />)
    await settle()
    await roundTrip()
    // `incident.*` is held throughout: only the difference goes out
    expect(wire()).toEqual([
      { type: 'subscribe', events: ['incident.*'] },
      { type: 'subscribe', events: ['host.**'] },
    ])

    unmount()
    await settle()
    await roundTrip()
    expect(wire()).toEqual([
      { type: 'subscribe', events: ['incident.*'] },
      { type: 'subscribe', events: ['host.**'] },
      { type: 'unsubscribe', events: ['incident.*', 'host.**'] },
    ])
    expect(mock.subscriptions).toEqual([])
    expect(c.status).toBe('open') // the client belongs to the test, not to the component
  })

  it('StrictMode on an open client: one subscribe, no unsubscribe/subscribe storm', async () => {
    const c = client()
    await expect.poll(() => c.status).toBe('open')
    function Panel() {
      useRealtimeSubscription(c, 'incident.*')
      return null
    }
    const { unmount } = render(
      <StrictMode>
        <Panel />
      </StrictMode>,
    )
    await settle()
    await roundTrip()
    expect(wire()).toEqual([{ type: 'subscribe', events: ['incident.*'] }])
    unmount()
    await settle()
    await roundTrip()
    expect(wire()).toEqual([
      { type: 'subscribe', events: ['incident.*'] },
      { type: 'unsubscribe', events: ['incident.*'] },
    ])
  })
})
