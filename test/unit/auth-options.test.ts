import { describe, expect, it } from 'vitest'
import { toConfig } from '../../src/options.js'

describe('toConfig: auth', () => {
  const getToken = () => ({ token: 't' })

  it('is undefined without the option, and fills refreshBefore with 60 s', () => {
    expect(toConfig({ url: 'wss://x' }).auth).toBeUndefined()
    expect(toConfig({ url: 'wss://x', auth: { getToken } }).auth).toEqual({ getToken, refreshBefore: 60000 })
  })

  it('keeps a given refreshBefore (0 included) and replaces a negative, NaN or infinite one by the default', () => {
    expect(toConfig({ url: 'wss://x', auth: { getToken, refreshBefore: 0 } }).auth?.refreshBefore).toBe(0)
    expect(toConfig({ url: 'wss://x', auth: { getToken, refreshBefore: 5000 } }).auth?.refreshBefore).toBe(5000)
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(toConfig({ url: 'wss://x', auth: { getToken, refreshBefore: bad } }).auth?.refreshBefore).toBe(60000)
    }
  })
})
