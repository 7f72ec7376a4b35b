import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Continuity, persistKey, persistSession } from '../../src/persist.js'

const KEY = 'wirefeed:wss://api.test/ws/events '

/** A sessionStorage made of a Map, and a window made of an EventTarget, installed on globalThis. */
function fakeTab(entries: Record<string, string> = {}) {
  const items = new Map(Object.entries(entries))
  const storage = {
    getItem: vi.fn((key: string) => items.get(key) ?? null),
    setItem: vi.fn((key: string, value: string) => void items.set(key, value)),
    removeItem: vi.fn((key: string) => void items.delete(key)),
  }
  const win = new EventTarget()
  const added = vi.spyOn(win, 'addEventListener')
  const removed = vi.spyOn(win, 'removeEventListener')
  vi.stubGlobal('sessionStorage', storage)
  vi.stubGlobal('addEventListener', win.addEventListener.bind(win))
  vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win))
  return { items, storage, win, added, removed }
}

const fresh = (): Continuity => ({ session: null, last: null })

afterEach(() => {
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('persistKey', () => {
  it('names a string url without its query string, fragment and user info, then the dedupeKey', () => {
    expect(persistKey('wss://user:pw@api.test/ws/events?token=secret#frag')).toBe(KEY)
    expect(persistKey('wss://api.test/ws/events?token=other', 'admin')).toBe(`${KEY}admin`)
    expect(persistKey('wss://api.test/ws/other')).toBe('wirefeed:wss://api.test/ws/other ')
  })

  it('counts a function url as the empty string: the dedupeKey alone tells such connections apart', () => {
    expect(persistKey(() => 'wss://api.test/ws/events?token=secret')).toBe('wirefeed: ')
    expect(persistKey(() => 'wss://a', 'feed')).toBe('wirefeed: feed')
  })
})

describe('persistSession', () => {
  it('takes a record: the state resumes from it, and storage no longer holds it', () => {
    const tab = fakeTab({ [KEY]: JSON.stringify({ session: 's-7', last: 41 }), other: 'x' })
    const state = fresh()
    persistSession(KEY, state)
    expect(state).toEqual({ session: 's-7', last: 41 })
    // a tab duplicated now copies no record, so it cannot resume the session this page holds
    expect([...tab.items]).toEqual([['other', 'x']])
  })

  it('writes nothing per change: the record is written when the page is left, and removed when it is shown again', () => {
    const tab = fakeTab()
    const state = fresh()
    persistSession(KEY, state)
    state.session = 's-1'
    state.last = 3
    state.last = 4
    expect(tab.storage.setItem).not.toHaveBeenCalled()
    tab.win.dispatchEvent(new Event('pagehide'))
    expect(tab.items.get(KEY)).toBe('{"session":"s-1","last":4}')
    // restored from the back/forward cache: this page holds its session again
    tab.win.dispatchEvent(new Event('pageshow'))
    expect(tab.items.has(KEY)).toBe(false)
    expect(state).toEqual({ session: 's-1', last: 4 })
  })

  it('writes no record for a connection that has no session yet', () => {
    const tab = fakeTab()
    const close = persistSession(KEY, fresh())
    tab.win.dispatchEvent(new Event('pagehide'))
    close()
    expect(tab.storage.setItem).not.toHaveBeenCalled()
    expect(tab.items.size).toBe(0)
  })

  it('the returned function writes the record once more and removes both listeners', () => {
    const tab = fakeTab()
    const state: Continuity = { session: 's-2', last: 9 }
    const close = persistSession(KEY, state)
    expect(tab.added.mock.calls.map((c) => c[0])).toEqual(['pagehide', 'pageshow'])
    close()
    expect(tab.items.get(KEY)).toBe('{"session":"s-2","last":9}')
    expect(tab.removed.mock.calls).toEqual(tab.added.mock.calls)
    // no longer listening: the page events change nothing
    state.last = 10
    tab.win.dispatchEvent(new Event('pagehide'))
    tab.win.dispatchEvent(new Event('pageshow'))
    expect(tab.items.get(KEY)).toBe('{"session":"s-2","last":9}')
  })

  it.each([
    ['not JSON', '{"session":'],
    ['null', 'null'],
    ['a number', '42'],
    ['an empty session', '{"session":"","last":1}'],
    ['a session that is not a string', '{"session":7,"last":1}'],
    ['a negative last', '{"session":"s-1","last":-1}'],
    ['a fractional last', '{"session":"s-1","last":1.5}'],
    ['a last that is a string', '{"session":"s-1","last":"3"}'],
    ['no last', '{"session":"s-1"}'],
  ])('ignores and removes a record that is %s', (_, raw) => {
    const tab = fakeTab({ [KEY]: raw })
    const state = fresh()
    persistSession(KEY, state)
    expect(state).toEqual({ session: null, last: null })
    expect(tab.items.has(KEY)).toBe(false)
  })

  it('resumes from last 0 (a session with no event yet)', () => {
    fakeTab({ [KEY]: '{"session":"s-1","last":0}' })
    const state = fresh()
    persistSession(KEY, state)
    expect(state).toEqual({ session: 's-1', last: 0 })
  })

  it('a state that already continues a session keeps it; the record is still taken', () => {
    const tab = fakeTab({ [KEY]: '{"session":"s-1","last":5}' })
    const state: Continuity = { session: 's-9', last: 70 }
    persistSession(KEY, state)
    expect(state).toEqual({ session: 's-9', last: 70 })
    expect(tab.items.has(KEY)).toBe(false)
  })

  it('only its own key: another connection’s record stays', () => {
    const tab = fakeTab({ [`${KEY}admin`]: '{"session":"s-1","last":5}' })
    const state = fresh()
    persistSession(KEY, state)
    expect(state).toEqual({ session: null, last: null })
    expect(tab.items.get(`${KEY}admin`)).toBe('{"session":"s-1","last":5}')
  })

  it('a sessionStorage that throws when read (a sandboxed frame, blocked storage) is no error: nothing is kept', () => {
    const tab = fakeTab()
    Object.defineProperty(globalThis, 'sessionStorage', {
      configurable: true,
      get() {
        throw new DOMException('The operation is insecure.', 'SecurityError')
      },
    })
    try {
      const state = fresh()
      const close = persistSession(KEY, state)
      expect(state).toEqual({ session: null, last: null })
      state.session = 's-1'
      state.last = 1
      expect(() => tab.win.dispatchEvent(new Event('pagehide'))).not.toThrow()
      expect(close).not.toThrow()
    } finally {
      delete (globalThis as { sessionStorage?: unknown }).sessionStorage
    }
  })

  it('a sessionStorage whose calls throw (Safari private mode, a full quota) is no error: nothing is kept', () => {
    const tab = fakeTab({ [KEY]: '{"session":"s-1","last":5}' })
    const quota = (): never => {
      throw new DOMException('quota', 'QuotaExceededError')
    }
    tab.storage.getItem.mockImplementation(quota)
    tab.storage.setItem.mockImplementation(quota)
    const state = fresh()
    const close = persistSession(KEY, state)
    expect(state).toEqual({ session: null, last: null })
    state.session = 's-2'
    state.last = 1
    expect(close).not.toThrow()
    expect(tab.storage.setItem).toHaveBeenCalledTimes(1)
  })

  it('outside a browser (no sessionStorage, no addEventListener) it does nothing and throws nothing', () => {
    vi.stubGlobal('sessionStorage', undefined)
    vi.stubGlobal('addEventListener', undefined)
    vi.stubGlobal('removeEventListener', undefined)
    const state: Continuity = { session: 's-1', last: 2 }
    const close = persistSession(KEY, state)
    expect(close).not.toThrow()
    expect(state).toEqual({ session: 's-1', last: 2 })
  })
})
