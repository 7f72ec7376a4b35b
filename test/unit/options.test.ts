import { describe, expect, it } from 'vitest'
import { DEFAULTS, toConfig } from '../../src/options.js'
import { v1Protocol } from '../../src/protocol/v1.js'

describe('toConfig', () => {
  it('fills every default', () => {
    const c = toConfig({ url: 'wss://x' })
    expect(c).toEqual({
      url: 'wss://x',
      pollUrl: undefined,
      reconnect: { minDelay: 1000, maxDelay: 16000, factor: 2, jitter: 0.2, maxAttempts: 5, connectTimeout: 10000 },
      heartbeat: { interval: 30000, timeout: 10000 },
      polling: { interval: 30000, wait: 0, upgradeInterval: 60000 },
      replay: { timeout: 5000, maxBuffer: 1000 },
      maxMessageBytes: 1048576,
      protocol: v1Protocol,
      refetchInterval: 1000,
      logger: undefined,
      WebSocket: undefined,
      fetch: undefined,
    })
  })

  it("puts a protocol's defaults under the app's options", () => {
    const protocol = { ...v1Protocol, defaults: { polling: { interval: 60000 }, heartbeat: { interval: 5000, timeout: 2000 }, refetchInterval: 250 } }
    const c = toConfig({ url: 'wss://x', protocol, heartbeat: { timeout: 3000 } })
    expect(c.polling).toEqual({ interval: 60000, wait: 0, upgradeInterval: 60000 })
    expect(c.heartbeat).toEqual({ interval: 5000, timeout: 3000 })
    expect(c.refetchInterval).toBe(250)
    expect(toConfig({ url: 'wss://x', protocol, polling: { interval: 1000 } }).polling).toEqual({ interval: 1000, wait: 0, upgradeInterval: 60000 })
    expect(toConfig({ url: 'wss://x', protocol, polling: false }).polling).toBe(false)
  })

  it('keeps given values and replaces negative, NaN and infinite ones by the default', () => {
    const c = toConfig({
      url: 'wss://x',
      reconnect: { minDelay: 500, maxDelay: -1, factor: Number.NaN, jitter: Number.POSITIVE_INFINITY },
      replay: { timeout: 100 },
    })
    expect(c.reconnect).toEqual({ ...DEFAULTS.reconnect, minDelay: 500 })
    expect(c.replay).toEqual({ timeout: 100, maxBuffer: 1000 })
  })

  it('never lets a zero make a tight loop or a link that dies at every ping', () => {
    const c = toConfig({ url: 'wss://x', heartbeat: { interval: 0, timeout: 0 }, polling: { interval: 0, wait: 0 } })
    expect(c.heartbeat).toEqual({ interval: 0, timeout: 10000 })
    expect(c.polling).toEqual({ interval: 30000, wait: 0, upgradeInterval: 60000 })
  })

  it('clamps jitter to 1, factor to at least 1, and maxDelay to at least minDelay', () => {
    const c = toConfig({ url: 'wss://x', reconnect: { jitter: 3, factor: 0.5, minDelay: 4000, maxDelay: 2000 } })
    expect(c.reconnect).toMatchObject({ jitter: 1, factor: 1, minDelay: 4000, maxDelay: 4000 })
  })

  it('polling: false turns the fallback off', () => {
    expect(toConfig({ url: 'wss://x', polling: false }).polling).toBe(false)
  })
})
