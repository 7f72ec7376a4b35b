/**
 * Cross-tab sharing (`shareAcrossTabs`) in Node: Node's `BroadcastChannel` carries the messages
 * between "tabs" of one process, and a fake `navigator.locks` (below) elects the leader. Each tab
 * is a `RealtimeClient` whose url differs only in its query string: the registry keeps them
 * apart (a tab's registry is its own), while the lock and channel names, made from the url without
 * its query string, are the same. The real reference server counts the sockets.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { RealtimeClient, type ResyncInfo } from '../../src/index.js'
import { canShareAcrossTabs } from '../../src/registry.js'
import { CHECK, GRACE, tabKey } from '../../src/tabs/link.js'
import { toConfig } from '../../src/options.js'
import { startServer } from '../server/helpers.js'

interface Request {
  callback: (lock: { name: string }) => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** An in-process Web Locks manager (exclusive mode, `signal` and `steal`), as one browser would run it. */
class FakeLocks {
  readonly held = new Map<string, Request>()
  readonly queues = new Map<string, Request[]>()

  request(name: string, options: { signal?: AbortSignal; steal?: boolean }, callback: Request['callback']): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req: Request = { callback, resolve, reject }
      if (options.steal) {
        const holder = this.held.get(name)
        this.held.delete(name)
        holder?.reject(new DOMException('stolen', 'AbortError'))
        return this.grant(name, req)
      }
      if (options.signal?.aborted) return reject(new DOMException('aborted', 'AbortError'))
      options.signal?.addEventListener('abort', () => {
        const queue = this.queues.get(name) ?? []
        if (!queue.includes(req)) return
        queue.splice(queue.indexOf(req), 1)
        reject(new DOMException('aborted', 'AbortError'))
      })
      if (this.held.has(name)) (this.queues.get(name) ?? this.queues.set(name, []).get(name)!).push(req)
      else this.grant(name, req)
    })
  }

  private grant(name: string, req: Request): void {
    this.held.set(name, req)
    void Promise.resolve()
      .then(() => req.callback({ name }))
      .then(
        (value) => this.done(name, req, () => req.resolve(value)),
        (error) => this.done(name, req, () => req.reject(error)),
      )
  }

  private done(name: string, req: Request, settle: () => void): void {
    if (this.held.get(name) !== req) return // stolen: already rejected
    this.held.delete(name)
    settle()
    const next = this.queues.get(name)?.shift()
    if (next) this.grant(name, next)
  }
}

let locks: FakeLocks
const cleanups: (() => unknown)[] = []

function withLocks(): FakeLocks {
  locks = new FakeLocks()
  vi.stubGlobal('navigator', { ...globalThis.navigator, locks })
  return locks
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
  vi.unstubAllGlobals()
})

const FAST = { minDelay: 20, maxDelay: 200, factor: 2, jitter: 0.2 } as const

/** One "tab": its own registry entry (the query string), the same cross-tab link as the others. */
function tab(url: string, n: number, options: { subscribe?: string[] } = {}): RealtimeClient & { seqs: number[]; names: string[]; resyncs: ResyncInfo[] } {
  const client = new RealtimeClient({ url: `${url}?tab=${n}`, shareAcrossTabs: true, reconnect: FAST, ...options })
  const seqs: number[] = []
  const names: string[] = []
  const resyncs: ResyncInfo[] = []
  client.on('*', (_data, meta) => {
    seqs.push(meta.seq)
    names.push(meta.event)
  })
  client.on('resync', (info) => resyncs.push(info))
  cleanups.push(() => client.close())
  return Object.assign(client, { seqs, names, resyncs })
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('shareAcrossTabs', () => {
  it('names the lock and channel without the query string or user info', () => {
    expect(tabKey(toConfig({ url: 'wss://me:pw@host/ws?token=secret#x' }), 'k')).toBe('wirefeed:wss://host/ws#k')
    expect(tabKey(toConfig({ url: () => 'wss://host/ws?token=secret' }), '')).toBe('wirefeed:()#')
  })

  it('falls back to a connection per tab without Web Locks', async () => {
    vi.stubGlobal('navigator', { ...globalThis.navigator, locks: undefined })
    expect(canShareAcrossTabs()).toBe(false)
    const rt = await startServer()
    const a = tab(rt.url, 1)
    const b = tab(rt.url, 2)
    await expect.poll(() => [a.status, b.status]).toEqual(['open', 'open'])
    expect(rt.stats().connections).toBe(2)
  })

  it('three tabs share one socket; each sees the status, events and stats of the shared link', async () => {
    withLocks()
    expect(canShareAcrossTabs()).toBe(true)
    const rt = await startServer()
    const tabs = [tab(rt.url, 1), tab(rt.url, 2), tab(rt.url, 3)]
    await expect.poll(() => tabs.map((t) => t.status)).toEqual(['open', 'open', 'open'])
    expect(rt.stats().connections).toBe(1)
    for (let i = 0; i < 5; i++) rt.publish('tick', { i })
    await expect.poll(() => tabs.map((t) => t.seqs)).toEqual([range(1, 5), range(1, 5), range(1, 5)])
    for (const t of tabs) expect(t.stats).toMatchObject({ messages: 5, duplicates: 0, gaps: 0, resyncs: 0, reconnects: 0, transport: 'websocket' })
    expect(rt.stats().connections).toBe(1)
  })

  it('combines the subscriptions of the tabs; each tab gets only the events its own patterns match', async () => {
    withLocks()
    const seen: string[][] = []
    const rt = await startServer({
      // 'a.probe' reports the session's patterns and is never delivered
      filter: (session, event) => {
        if (event !== 'a.probe') return true
        seen.push([...session.patterns].sort())
        return false
      },
    })
    const a = tab(rt.url, 1, { subscribe: ['a.*'] })
    const b = tab(rt.url, 2)
    b.subscribe('b.*')
    await expect.poll(() => [a.status, b.status]).toEqual(['open', 'open'])
    // the server has the union once the follower's patterns reached the leader
    await expect
      .poll(() => {
        seen.length = 0
        rt.publish('a.probe', 0)
        return seen.at(-1)
      })
      .toEqual(['a.*', 'b.*'])
    rt.publish('a.one', 1)
    rt.publish('b.one', 2)
    rt.publish('c.one', 3)
    rt.publish('a.two', 4)
    await expect.poll(() => [a.names, b.names]).toEqual([
      ['a.one', 'a.two'],
      ['b.one'],
    ])
    expect(rt.stats().connections).toBe(1)
    // a tab that lets go of its pattern takes it out of the union
    const c = tab(rt.url, 3, { subscribe: ['c.*'] })
    await expect.poll(() => c.status).toBe('open')
    c.close()
    await expect
      .poll(() => {
        seen.length = 0
        rt.publish('a.probe', 0)
        return seen.at(-1)
      })
      .toEqual(['a.*', 'b.*'])
  })

  it('closing the leader hands over: every remaining tab gets every event once, in order, with no resync', async () => {
    withLocks()
    const rt = await startServer()
    const leader = tab(rt.url, 1)
    const others = [tab(rt.url, 2), tab(rt.url, 3)]
    await expect.poll(() => [leader, ...others].map((t) => t.status)).toEqual(['open', 'open', 'open'])
    let published = 0
    const publish = (n: number): void => {
      for (let i = 0; i < n; i++) rt.publish('tick', ++published)
    }
    publish(20)
    await expect.poll(() => others.map((t) => t.seqs.length)).toEqual([20, 20])
    // publish while the leader goes: the session buffers what no socket takes
    publish(5)
    leader.close()
    publish(5)
    await expect.poll(() => others.map((t) => t.status)).toEqual(['open', 'open'])
    publish(10)
    await expect.poll(() => others.map((t) => t.seqs)).toEqual([range(1, 40), range(1, 40)])
    for (const t of others) {
      expect(t.resyncs).toEqual([])
      expect(t.stats).toMatchObject({ messages: 40, resyncs: 0, reconnects: 1, transport: 'websocket' })
    }
    expect(rt.stats().connections).toBe(1)
    expect(rt.stats().sessions).toBe(1)
  })

  it('a tab that joins late starts at the live edge, like a new handle on a shared connection', async () => {
    withLocks()
    const rt = await startServer()
    const a = tab(rt.url, 1)
    await expect.poll(() => a.status).toBe('open')
    rt.publish('tick', 1)
    await expect.poll(() => a.seqs).toEqual([1])
    const b = tab(rt.url, 2)
    await expect.poll(() => b.status).toBe('open')
    rt.publish('tick', 2)
    await expect.poll(() => [a.seqs, b.seqs]).toEqual([[1, 2], [2]])
  })

  it('refresh() and reconnect() in a follower act on the shared link', async () => {
    withLocks()
    const rt = await startServer({ snapshot: () => [{ event: 'state', data: 'now' }] })
    const a = tab(rt.url, 1)
    const b = tab(rt.url, 2)
    await expect.poll(() => [a.status, b.status]).toEqual(['open', 'open'])
    b.refresh()
    await expect.poll(() => [a.names, b.names]).toEqual([['state'], ['state']])
    const statuses: string[] = []
    b.on('status', (s) => statuses.push(s))
    b.reconnect()
    await expect.poll(() => statuses).toEqual(['reconnecting', 'open'])
    expect(b.stats.reconnects).toBe(1)
    expect(a.stats.reconnects).toBe(1)
    expect(rt.stats().connections).toBe(1)
  })

  it('the last tab to close closes the socket and lets go of the lock', async () => {
    const l = withLocks()
    const rt = await startServer()
    const a = tab(rt.url, 1)
    const b = tab(rt.url, 2)
    await expect.poll(() => [a.status, b.status]).toEqual(['open', 'open'])
    b.close()
    a.close()
    expect([a.status, b.status]).toEqual(['closed', 'closed'])
    await expect.poll(() => rt.stats().connections).toBe(0)
    expect(l.held.size).toBe(0)
    expect([...l.queues.values()].flat()).toEqual([])
  })
})

describe('shareAcrossTabs: a silent leader', () => {
  it(
    'a follower probes a leader it has not heard from and takes the lock when no answer comes',
    async () => {
      const l = withLocks()
      const rt = await startServer()
      const name = tabKey(toConfig({ url: rt.url }), '')
      // a leader that holds the lock and says nothing (a frozen tab)
      let released: unknown
      void l.request(name, {}, () => new Promise(() => {})).catch((e: unknown) => (released = e))
      const b = tab(rt.url, 2)
      expect(b.status).toBe('connecting')
      await expect.poll(() => b.status, { timeout: CHECK + 2 * GRACE + 10_000 }).toBe('open')
      expect(released).toBeInstanceOf(DOMException)
      expect(rt.stats().connections).toBe(1)
      rt.publish('tick', 1)
      await expect.poll(() => b.seqs).toEqual([1])
    },
    CHECK + 2 * GRACE + 15_000,
  )
})
