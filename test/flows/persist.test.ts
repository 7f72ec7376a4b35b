/**
 * `persist: 'session'` against the msw mock: the record a connection leaves in sessionStorage when
 * the page is left or the connection closes, and the next connection with the same url and
 * dedupeKey resuming from it. sessionStorage and the window's events are faked on globalThis.
 */
import { describe, expect, it, vi } from 'vitest'
import { FAST, POLL_URL, record, setupFlows, WS_URL } from './harness.js'

const { fake, client } = setupFlows()

const KEY = `wirefeed:${WS_URL} `

/** A sessionStorage made of a Map, and a window made of an EventTarget (the harness unstubs them). */
function fakeTab(entries: Record<string, string> = {}) {
  const items = new Map(Object.entries(entries))
  const storage = {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: vi.fn((key: string, value: string) => void items.set(key, value)),
    removeItem: (key: string) => void items.delete(key),
  }
  const win = new EventTarget()
  vi.stubGlobal('sessionStorage', storage)
  vi.stubGlobal('addEventListener', win.addEventListener.bind(win))
  vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win))
  return { items, storage, win }
}

const persisted = (items: Map<string, string>, key = KEY): unknown => {
  const raw = items.get(key)
  return raw === undefined ? undefined : JSON.parse(raw)
}

describe("persist: 'session'", () => {
  it('a new client with the same url resumes the session a closed one left: hello carries session and after, nothing is missed', async () => {
    const tab = fakeTab()
    const first = client({ ...FAST, persist: 'session' })
    const r1 = record(first)
    await expect.poll(() => first.status).toBe('open')
    expect(fake.messages('hello')).toEqual([{ type: 'hello', v: 1, session: null, after: null, events: [] }])
    fake.publish('alert', 'a')
    fake.publish('alert', 'b')
    fake.publish('alert', 'c')
    await expect.poll(() => r1.seqs()).toEqual([1, 2, 3])
    first.close()
    expect(persisted(tab.items)).toEqual({ session: 's-1', last: 3 })
    // published while no page holds the session: the server keeps it for the next one
    fake.publish('alert', 'd')
    fake.publish('alert', 'e')

    const second = client({ ...FAST, persist: 'session' })
    const r2 = record(second)
    await expect.poll(() => r2.seqs()).toEqual([4, 5])
    expect(fake.messages('hello').at(-1)).toEqual({ type: 'hello', v: 1, session: 's-1', after: 3, events: [] })
    expect(r2.events.map((e) => e.data)).toEqual(['d', 'e'])
    // the record was taken: a tab duplicated now copies none
    expect(tab.items.has(KEY)).toBe(false)
    fake.publish('alert', 'f')
    await expect.poll(() => r2.seqs()).toEqual([4, 5, 6])
    expect(r2.resyncs).toEqual([])
    expect(r2.errors).toEqual([])
    expect(r2.statuses).toEqual(['connecting', 'open'])
    expect(fake.sessions.size).toBe(1)
    expect(second.stats).toMatchObject({ messages: 3, resyncs: 0, duplicates: 0, replayed: 2 })
  })

  it('nothing is written per event: pagehide writes where the page stands, pageshow removes it', async () => {
    const tab = fakeTab()
    const c = client({ ...FAST, persist: 'session' })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    fake.publish('alert', 1)
    fake.publish('alert', 2)
    await expect.poll(() => r.seqs()).toEqual([1, 2])
    expect(tab.storage.setItem).not.toHaveBeenCalled()
    tab.win.dispatchEvent(new Event('pagehide'))
    expect(persisted(tab.items)).toEqual({ session: 's-1', last: 2 })
    expect(tab.storage.setItem).toHaveBeenCalledTimes(1)
    // back from the back/forward cache: the page holds its session again
    tab.win.dispatchEvent(new Event('pageshow'))
    expect(tab.items.has(KEY)).toBe(false)
    fake.publish('alert', 3)
    await expect.poll(() => r.seqs()).toEqual([1, 2, 3])
    expect(tab.storage.setItem).toHaveBeenCalledTimes(1)
  })

  it('a session the server no longer knows gives one resync new_session, and the new session is what is kept', async () => {
    const tab = fakeTab({ [KEY]: JSON.stringify({ session: 's-gone', last: 7 }) })
    const c = client({ ...FAST, persist: 'session' })
    const r = record(c)
    await expect.poll(() => c.status).toBe('open')
    expect(fake.messages('hello')).toEqual([{ type: 'hello', v: 1, session: 's-gone', after: 7, events: [] }])
    expect(r.resyncs).toEqual([{ reason: 'new_session', from: 8, to: null, missed: null }])
    fake.publish('alert', 'x')
    await expect.poll(() => r.seqs()).toEqual([1])
    c.close()
    expect(persisted(tab.items)).toEqual({ session: 's-1', last: 1 })
  })

  it('without persist nothing is read or written', async () => {
    const tab = fakeTab({ [KEY]: JSON.stringify({ session: 's-9', last: 4 }) })
    const c = client({ ...FAST })
    await expect.poll(() => c.status).toBe('open')
    expect(fake.messages('hello')).toEqual([{ type: 'hello', v: 1, session: null, after: null, events: [] }])
    tab.win.dispatchEvent(new Event('pagehide'))
    c.close()
    expect(tab.storage.setItem).not.toHaveBeenCalled()
    expect(persisted(tab.items)).toEqual({ session: 's-9', last: 4 })
  })

  it('a different dedupeKey is a different record', async () => {
    const tab = fakeTab()
    const a = client({ ...FAST, persist: 'session', dedupeKey: 'a' })
    await expect.poll(() => a.status).toBe('open')
    a.close()
    expect(persisted(tab.items, `${KEY}a`)).toEqual({ session: 's-1', last: 0 })
    const b = client({ ...FAST, persist: 'session', dedupeKey: 'b' })
    await expect.poll(() => b.status).toBe('open')
    expect(fake.messages('hello').at(-1)).toMatchObject({ session: null, after: null })
    expect(persisted(tab.items, `${KEY}a`)).toEqual({ session: 's-1', last: 0 })
  })

  it('a token in the url query string is neither stored nor part of the name; a new token resumes the same record', async () => {
    const tab = fakeTab()
    const a = client({ ...FAST, url: `${WS_URL}?token=first-secret`, persist: 'session' })
    await expect.poll(() => a.status).toBe('open')
    a.close()
    expect([...tab.items.keys()]).toEqual([KEY])
    expect(JSON.stringify([...tab.items])).not.toContain('secret')
    const b = client({ ...FAST, url: `${WS_URL}?token=second-secret`, persist: 'session' })
    await expect.poll(() => b.status).toBe('open')
    expect(fake.messages('hello').at(-1)).toMatchObject({ session: 's-1', after: 0 })
  })

  it('over the polling fallback: the first poll carries the session and after', async () => {
    const tab = fakeTab()
    const a = client({ ...FAST, persist: 'session' })
    const r1 = record(a)
    await expect.poll(() => a.status).toBe('open')
    fake.publish('alert', 1)
    fake.publish('alert', 2)
    await expect.poll(() => r1.seqs()).toEqual([1, 2])
    a.close()
    fake.publish('alert', 3)
    vi.stubGlobal('WebSocket', undefined)
    expect(persisted(tab.items)).toEqual({ session: 's-1', last: 2 })
    const b = client({ ...FAST, persist: 'session', pollUrl: POLL_URL, polling: { interval: 20 } })
    const r2 = record(b)
    await expect.poll(() => r2.seqs()).toEqual([3])
    expect(fake.polls[0]).toMatchObject({ session: 's-1', after: 2 })
    expect(r2.resyncs).toEqual([])
    expect(b.status).toBe('polling')
  })
})
