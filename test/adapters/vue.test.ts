// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, effectScope, h, nextTick, ref, shallowRef } from 'vue'
import type { RealtimeClient } from '../../src/index.js'
import { useRealtime, useRealtimeEvent, useRealtimeStatus, useRealtimeSubscription } from '../../src/vue/index.js'
import { type Events, events, FAST, listenersLeft, settle, setupAdapterTests, sharedConnectionCount, WS_URL } from './helpers.js'

const { mock, client, wire, roundTrip } = setupAdapterTests()

const mounted: { unmount(): void }[] = []
afterEach(() => {
  for (const w of mounted.splice(0)) w.unmount()
})

/** The handle a component opened, for the test to look at. */
let handle: RealtimeClient<Events> | undefined

const Dashboard = defineComponent({
  props: { patterns: { type: Array as () => string[], default: () => ['alert'] } },
  setup(props) {
    const c = useRealtime({ url: WS_URL, events, reconnect: FAST })
    handle = c
    const status = useRealtimeStatus(c)
    const alerts = ref<string[]>([])
    useRealtimeSubscription(c, () => props.patterns)
    useRealtimeEvent(c, 'alert', (alert, meta) => alerts.value.push(`${alert.id}:${alert.severity}:${meta.seq}`))
    return () =>
      h('div', [
        h('p', { 'data-testid': 'status' }, status.value),
        h(
          'ul',
          alerts.value.map((a) => h('li', { key: a }, a)),
        ),
      ])
  },
})

function mountTracked(...args: Parameters<typeof mount>) {
  const wrapper = mount(...args)
  mounted.push(wrapper)
  return wrapper
}

describe('composables in a component', () => {
  it('connect on mount, render the status and the events, and clean up on unmount', async () => {
    const wrapper = mountTracked(Dashboard)
    const status = () => wrapper.get('[data-testid="status"]').text()
    await expect.poll(status).toBe('open')
    expect(mock.connections).toBe(1)
    expect(mock.messages('hello')[0]?.events).toEqual(['alert'])

    mock.publish('alert', { id: 'a1', severity: 'high' })
    mock.publish('alert', { id: 'a2', severity: 'low' })
    await expect.poll(() => wrapper.findAll('li').map((li) => li.text())).toEqual(['a1:high:1', 'a2:low:2'])

    // the ref follows the status through a reconnect
    const seen: string[] = []
    const off = (handle as RealtimeClient<Events>).on('status', (s) => seen.push(s))
    mock.dropConnection()
    await expect.poll(() => seen).toEqual(['reconnecting', 'open'])
    await nextTick()
    expect(status()).toBe('open')
    off()

    const c = handle as RealtimeClient<Events>
    const on = vi.spyOn(c, 'on')
    wrapper.unmount()
    mounted.length = 0
    await settle()
    expect(c.status).toBe('closed')
    expect(sharedConnectionCount()).toBe(0)
    await expect.poll(() => mock.openSockets).toBe(0)
    expect(on).not.toHaveBeenCalled()
    // the last handle closed the socket: no `unsubscribe` on the way out
    expect(wire()).toEqual([])
  })

  it('nothing starts before mount: status is idle during setup', () => {
    const statuses: string[] = []
    const Probe = defineComponent({
      setup() {
        const c = useRealtime({ url: WS_URL, events })
        const status = useRealtimeStatus(c)
        statuses.push(status.value, c.status)
        return () => h('p', status.value)
      },
    })
    mountTracked(Probe)
    expect(statuses).toEqual(['idle', 'idle'])
    expect(handle).toBeDefined()
  })

  it('unmount leaves no timer, listener or socket behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const wrapper = mountTracked(Dashboard)
    const c = handle as RealtimeClient<Events>
    await expect.poll(() => c.status).toBe('open')
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    wrapper.unmount()
    mounted.length = 0
    await settle()
    expect(c.status).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    expect(listenersLeft(c)).toEqual([])
    await expect.poll(() => mock.openSockets).toBe(0)
  })

  it('a component replacing another on the same url keeps the socket (v-if swap)', async () => {
    const show = ref<'a' | 'b'>('a')
    const Swap = defineComponent({
      setup: () => () => (show.value === 'a' ? h(Dashboard, { key: 'a' }) : h(Dashboard, { key: 'b', patterns: ['alert', 'incident.*'] })),
    })
    const wrapper = mountTracked(Swap)
    await expect.poll(() => wrapper.get('[data-testid="status"]').text()).toBe('open')
    const first = handle
    show.value = 'b'
    await nextTick()
    await settle()
    expect(handle).not.toBe(first)
    expect(first?.status).toBe('closed')
    expect(handle?.status).toBe('open')
    await roundTrip()
    expect(mock.connections).toBe(1)
    // `alert` was held throughout: only the new pattern went out
    expect(wire()).toEqual([{ type: 'subscribe', events: ['incident.*'] }])
  })

  it('useRealtime(client) passes the client through and leaves it open', async () => {
    const c = client()
    let got: unknown
    const Probe = defineComponent({
      setup() {
        got = useRealtime(c)
        const status = useRealtimeStatus(c)
        return () => h('p', status.value)
      },
    })
    const wrapper = mountTracked(Probe)
    expect(got).toBe(c)
    await expect.poll(() => wrapper.text()).toBe('open')
    wrapper.unmount()
    mounted.length = 0
    await settle()
    expect(c.status).toBe('open')
  })
})

describe('composables in an effectScope', () => {
  it('start at once and are cleaned up when the scope is disposed', async () => {
    const c = client({ autoConnect: false })
    const scope = effectScope()
    const seen: string[] = []
    const patterns = shallowRef<readonly string[]>(['incident.*'])
    const status = scope.run(() => {
      useRealtimeSubscription(c, patterns)
      useRealtimeEvent(c, 'incident.created', (data, meta) => seen.push(`${data.id}:${meta.seq}`))
      return useRealtimeStatus(c)
    })
    expect(status?.value).toBe('idle')
    c.connect()
    await expect.poll(() => status?.value).toBe('open')
    expect(mock.messages('hello')[0]?.events).toEqual(['incident.*'])

    mock.publish('incident.created', { id: 'i1' })
    await expect.poll(() => seen).toEqual(['i1:1'])

    // patterns as a ref: the difference goes out, the shared pattern stays
    patterns.value = ['incident.*', 'host.**']
    await nextTick()
    patterns.value = ['incident.*', 'host.**'] // equal value: nothing
    await nextTick()
    await roundTrip()
    expect(wire()).toEqual([{ type: 'subscribe', events: ['host.**'] }])
    patterns.value = ['host.**']
    await nextTick()
    await roundTrip()
    expect(wire()).toEqual([
      { type: 'subscribe', events: ['host.**'] },
      { type: 'unsubscribe', events: ['incident.*'] },
    ])

    scope.stop()
    await settle()
    await roundTrip()
    expect(wire()).toEqual([
      { type: 'subscribe', events: ['host.**'] },
      { type: 'unsubscribe', events: ['incident.*'] },
      { type: 'unsubscribe', events: ['host.**'] },
    ])
    mock.publish('incident.created', { id: 'i2' })
    await roundTrip()
    expect(seen).toEqual(['i1:1'])
    // the status ref no longer follows the client
    c.close()
    expect(status?.value).toBe('open')
  })

  it('useRealtime(options) in a scope connects at once and closes when the scope is disposed', async () => {
    const scope = effectScope()
    const c = scope.run(() => useRealtime({ url: WS_URL, events, subscribe: ['alert'] })) as RealtimeClient<Events>
    await expect.poll(() => c.status).toBe('open')
    scope.stop()
    expect(c.status).toBe('open') // released a microtask later
    await settle()
    expect(c.status).toBe('closed')
    await expect.poll(() => mock.openSockets).toBe(0)
    expect(wire()).toEqual([])
  })
})
