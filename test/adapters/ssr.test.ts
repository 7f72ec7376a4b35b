/**
 * The adapters on the server: plain Node, no DOM. Importing them throws nothing, and rendering a
 * component that uses them opens no socket (nothing connects before the browser mounts it).
 */
import { createElement } from 'react'
import { renderToString as renderReact } from 'react-dom/server'
import { render as renderSvelte } from 'svelte/server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSSRApp, defineComponent, h } from 'vue'
import { renderToString as renderVue } from 'vue/server-renderer'
import { RealtimeClient } from '../../src/index.js'
import { sharedConnectionCount } from '../../src/registry.js'
import Alerts from './Alerts.svelte'
import { events, WS_URL } from './helpers.js'

afterEach(() => {
  vi.unstubAllGlobals()
})

/** A WebSocket constructor that records every attempt. */
function watchSockets() {
  const opened = vi.fn()
  vi.stubGlobal(
    'WebSocket',
    class {
      constructor(url: string) {
        opened(url)
      }
    },
  )
  return opened
}

describe('server-side rendering (no DOM)', () => {
  it('runs without window or document', () => {
    expect(typeof window).toBe('undefined')
    expect(typeof document).toBe('undefined')
  })

  it.each(['react', 'vue', 'svelte'])('importing wirefeed/%s throws nothing', async (name) => {
    const adapter = (await import(`../../src/${name}/index.ts`)) as Record<string, unknown>
    expect(Object.keys(adapter).length).toBeGreaterThan(0)
  })

  it('React: renders the idle status and opens nothing', async () => {
    const opened = watchSockets()
    const { useRealtime, useRealtimeEvent, useRealtimeStatus, useRealtimeSubscription } = await import('../../src/react/index.js')
    let handle: RealtimeClient<typeof events> | undefined
    function Live() {
      const c = useRealtime({ url: WS_URL, events })
      handle = c
      useRealtimeSubscription(c, ['alert'])
      useRealtimeEvent(c, 'alert', () => {})
      return createElement('p', null, useRealtimeStatus(c))
    }
    expect(renderReact(createElement(Live))).toBe('<p>idle</p>')
    await Promise.resolve()
    expect(handle?.status).toBe('idle')
    expect(sharedConnectionCount()).toBe(0)
    expect(opened).not.toHaveBeenCalled()
  })

  it('Vue: renders the idle status and opens nothing', async () => {
    const opened = watchSockets()
    const { useRealtime, useRealtimeEvent, useRealtimeStatus, useRealtimeSubscription } = await import('../../src/vue/index.js')
    let handle: RealtimeClient<typeof events> | undefined
    const Live = defineComponent({
      setup() {
        const c = useRealtime({ url: WS_URL, events })
        handle = c
        useRealtimeSubscription(c, ['alert'])
        useRealtimeEvent(c, 'alert', () => {})
        const status = useRealtimeStatus(c)
        return () => h('p', status.value)
      },
    })
    expect(await renderVue(createSSRApp(Live))).toBe('<p>idle</p>')
    expect(handle?.status).toBe('idle')
    expect(sharedConnectionCount()).toBe(0)
    expect(opened).not.toHaveBeenCalled()
  })

  it('Svelte: a component subscribed to the stores renders the idle status and opens nothing', async () => {
    const opened = watchSockets()
    const client = new RealtimeClient({ url: WS_URL, events, autoConnect: false })
    const statuses: string[] = []
    client.on('status', (s) => statuses.push(s))
    const { body } = renderSvelte(Alerts, { props: { client } })
    expect(body).toContain('<p data-testid="status">idle</p>')
    expect(body).toContain('<p data-testid="latest">none</p>')
    await Promise.resolve()
    expect(client.status).toBe('idle')
    expect(statuses).toEqual([]) // not even an attempt that was called off
    expect(sharedConnectionCount()).toBe(0)
    expect(opened).not.toHaveBeenCalled()
  })
})
