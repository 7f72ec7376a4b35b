/**
 * Cross-tab sharing (`shareAcrossTabs`) in Node: Node's `BroadcastChannel` carries the messages
 * between "tabs" of one process, and a fake `navigator.locks` (below) elects the leader. Each tab
 * is a `RealtimeClient` whose url differs only in its query string: the registry keeps them
 * apart (a tab's registry is its own), while the lock and channel names, made from the url without
 * its query string, are the same. The real reference server counts the sockets.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RealtimeClient, type ResyncInfo } from '../../src/index.js'
import { canShareAcrossTabs } from '../../src/registry.js'
import { CHECK, GATHER, GRACE, MISSED, type TabMessage, tabKey } from '../../src/tabs/link.js'
import { toConfig } from '../../src/options.js'
import { type ScriptedSocket, scriptedServer } from '../flows/scripted-socket.js'
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

  it('a tab that joins late starts at the live edge, numbered from 1 like a connection of its own', async () => {
    withLocks()
    const rt = await startServer()
    const a = tab(rt.url, 1)
    await expect.poll(() => a.status).toBe('open')
    rt.publish('tick', 1)
    await expect.poll(() => a.seqs).toEqual([1])
    const b = tab(rt.url, 2)
    await expect.poll(() => b.status).toBe('open')
    rt.publish('tick', 2)
    await expect.poll(() => [a.seqs, b.seqs]).toEqual([[1, 2], [1]])
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

/**
 * The tabs' protocol on the test's clock: a scripted server (test/flows/scripted-socket.ts) plays
 * one session, `S`, whose events the test publishes, and records every frame the leader's socket
 * sends; the timers are fake, the channel and the locks are real promises and messages.
 */
describe('shareAcrossTabs on a scripted server', () => {
  interface Published {
    type: 'event'
    seq: number
    event: string
    data: null
    ack?: true
  }

  /** The session the tabs share: it resumes `S` from `after` (replaying what follows) or starts it. */
  function scriptedFeed() {
    const server = scriptedServer()
    const log: Published[] = []
    const welcomed = new Set<ScriptedSocket>()
    server.onSocket = (s) => queueMicrotask(() => s.readyState === 0 && s.open())
    server.onSend = (s, m) => {
      // the session's buffer never covers a hole (see `lose`)
      if (m.type === 'replay') return queueMicrotask(() => s.frame({ type: 'replay_failed', after: m.after, seq: log.length }))
      if (m.type !== 'hello') return
      queueMicrotask(() => {
        if (s.readyState !== 1) return
        const resumed = m.session === 'S'
        s.frame({ type: 'welcome', v: 1, session: 'S', resumed, seq: log.length })
        welcomed.add(s)
        if (resumed) for (const e of log) if (e.seq > (m.after as number)) s.frame(e)
      })
    }
    return {
      server,
      /** Publish to the session; the live socket (if any) gets it now. */
      publish(event: string, ack = false): number {
        const e: Published = { type: 'event', seq: log.length + 1, event, data: null, ...(ack && { ack: true as const }) }
        log.push(e)
        for (const s of welcomed) if (s.readyState === 1) s.frame(e)
        return e.seq
      },
      /** Issue a seq to an event that no socket gets, nor any replay: a hole. */
      lose(event: string): void {
        log.push({ type: 'event', seq: log.length + 1, event, data: null })
      },
      /** The seqs acked, over every socket, in order. */
      acks: (): number[] => server.sockets.flatMap((s) => s.messages('ack').map((m) => m.seq as number)),
      /** The patterns the session has, as the live socket's frames tell them. */
      patterns(): string[] {
        const s = [...welcomed].filter((w) => w.readyState === 1).at(-1)
        const set = new Set<string>()
        for (const m of s?.messages() ?? []) {
          const events = (m.events ?? []) as string[]
          if (m.type === 'hello' || m.type === 'subscribe') for (const p of events) set.add(p)
          if (m.type === 'unsubscribe') for (const p of events) set.delete(p)
        }
        return [...set].sort()
      },
    }
  }
  type Feed = ReturnType<typeof scriptedFeed>

  const tabs: RealtimeClient[] = []

  beforeEach(() => {
    // setImmediate stays real: the tabs' messages need turns of the event loop
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    withLocks()
  })

  afterEach(async () => {
    for (const t of tabs.splice(0)) t.close()
    await settle()
    expect(vi.getTimerCount(), 'timers left after close()').toBe(0)
    expect(locks.held.size).toBe(0)
    vi.useRealTimers()
  })

  /** Channel messages and promise jobs run (real turns of the event loop), and the timers due now fire, until `done` holds. */
  async function until(done: () => boolean, what = 'the tabs to settle'): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if (done()) return
      await new Promise<void>((r) => setImmediate(r))
      vi.advanceTimersByTime(0)
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  /** Let every message in flight arrive. */
  async function settle(): Promise<void> {
    let turns = 0
    await until(() => ++turns > 50)
  }

  /** Move the clock on `ms`, letting the tabs talk at every step of 250 ms. */
  async function advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 250) {
      vi.advanceTimersByTime(Math.min(250, ms - t))
      await settle()
    }
  }

  /** One tab: a client whose handles record what they get (and the acks on the wire as each event arrives). */
  function scriptedTab(feed: Feed, n: number, subscribe: string[] = []) {
    const client = new RealtimeClient({ url: `wss://feed.test/ws?tab=${n}`, shareAcrossTabs: true, WebSocket: feed.server.WebSocket, heartbeat: { interval: 0 }, ...(subscribe.length > 0 && { subscribe }) })
    tabs.push(client)
    const got: { seq: number; event: string; acked: number[] }[] = []
    client.on('*', (_data, meta) => got.push({ seq: meta.seq, event: meta.event, acked: feed.acks() }))
    const resyncs: ResyncInfo[] = []
    client.on('resync', (info) => resyncs.push(info))
    return { client, got, resyncs, seqs: () => got.map((g) => g.seq) }
  }

  /** The tab whose socket is live (its url names it). */
  const leaderOf = (feed: Feed): string | undefined => feed.server.sockets.filter((s) => s.readyState === 1).map((s) => new URL(s.url).searchParams.get('tab') ?? '')[0]

  async function openTabs(feed: Feed, ...patterns: string[][]) {
    const all = patterns.map((p, i) => scriptedTab(feed, i + 1, p))
    await until(() => all.every((t) => t.client.status === 'open'), 'every tab to be open')
    expect(leaderOf(feed)).toBe('1')
    return all
  }

  it("each tab numbers what it delivers 1, 2, ... as a connection of its own would; a hole is a resync in each tab's numbering", async () => {
    const feed = scriptedFeed()
    const [a, b, c] = await openTabs(feed, [], ['x.*'], ['y.*'])
    for (const e of ['x.1', 'y.1', 'x.2', 'y.2']) feed.publish(e)
    await settle()
    // the session's seqs are 1-4; each tab's own events come without holes
    expect([a!.seqs(), b!.seqs(), c!.seqs()]).toEqual([[1, 2, 3, 4], [1, 2], [1, 2]])
    // seqs 5 (x.3) and 6 (y.3) are lost for good: the server cannot replay them
    feed.lose('x.3')
    feed.lose('y.3')
    feed.publish('x.4')
    await until(() => b!.seqs().length === 3, 'x.4 past the hole')
    await settle()
    // the tab that wants every event knows exactly what it lost; a tab with patterns cannot know
    // how many of the two were its own
    expect(a!.resyncs).toEqual([{ reason: 'replay_failed', from: 5, to: 6, missed: 2 }])
    expect(b!.resyncs).toEqual([{ reason: 'replay_failed', from: 3, to: null, missed: null }])
    expect(c!.resyncs).toEqual([{ reason: 'replay_failed', from: 3, to: null, missed: null }])
    feed.publish('y.4')
    await settle()
    expect([a!.seqs(), b!.seqs(), c!.seqs()]).toEqual([[1, 2, 3, 4, 7, 8], [1, 2, 3], [1, 2, 3]])
    expect(a!.got.map((g) => g.event)).toEqual(['x.1', 'y.1', 'x.2', 'y.2', 'x.4', 'y.4'])
  })

  it('an event that two tabs want is acked once, by the leader, after the first of them delivered it', async () => {
    const feed = scriptedFeed()
    const [a, b, c] = await openTabs(feed, ['x.*'], ['x.*', 'y.*'], ['z.*'])
    feed.publish('x.one', true)
    await settle()
    expect([a!.seqs(), b!.seqs(), c!.seqs()]).toEqual([[1], [1], []])
    expect(feed.acks()).toEqual([1])
    // a follower's delivery comes after the leader's, which acked it then
    expect(a!.got[0]?.acked).toEqual([])
    expect(b!.got[0]?.acked).toEqual([1])
    expect(feed.server.sockets).toHaveLength(1)
  })

  it('an event only a follower wants is acked once, after that follower delivered it', async () => {
    const feed = scriptedFeed()
    const [a, b] = await openTabs(feed, ['x.*'], ['y.*'], ['z.*'])
    feed.publish('y.one', true)
    feed.publish('y.two')
    feed.publish('y.three', true)
    // relayed, not acked: no tab has it yet
    expect(feed.acks()).toEqual([])
    await settle()
    expect(b!.seqs()).toEqual([1, 2, 3])
    expect(b!.got.map((g) => g.acked)).toEqual([[], [], []])
    expect(feed.acks()).toEqual([1, 3])
    expect(a!.seqs()).toEqual([])
  })

  it('an event no tab wants (its only tab left while it was on its way) is acked by the leader as it relays it', async () => {
    const feed = scriptedFeed()
    const [a, b, c] = await openTabs(feed, ['x.*'], ['y.*'], ['z.*'])
    expect(feed.patterns()).toEqual(['x.*', 'y.*', 'z.*'])
    c!.client.close()
    await until(() => feed.patterns().length === 2, "the tab's patterns to leave")
    expect(feed.patterns()).toEqual(['x.*', 'y.*'])
    // the server had sent it before the unsubscribe reached it
    feed.publish('z.one', true)
    expect(feed.acks()).toEqual([1])
    await settle()
    expect([a!.seqs(), b!.seqs(), c!.seqs()]).toEqual([[], [], []])
    expect(feed.acks()).toEqual([1])
  })

  it('the leader acks what it delivers itself, and nothing twice when followers ack late', async () => {
    const feed = scriptedFeed()
    const [a, b, c] = await openTabs(feed, [], [], [])
    for (let i = 0; i < 5; i++) feed.publish('tick', true)
    // the leader delivered all five, and acked each as it did
    expect(a!.seqs()).toEqual(range(1, 5))
    expect(feed.acks()).toEqual(range(1, 5))
    await settle()
    expect([b!.seqs(), c!.seqs()]).toEqual([range(1, 5), range(1, 5)])
    expect(feed.acks()).toEqual(range(1, 5))
  })

  it('acks a closed leader may not have sent go out from the next one, once; replayed events are acked once', async () => {
    const feed = scriptedFeed()
    const [a, b, c] = await openTabs(feed, ['x.*'], ['y.*'], ['x.*'])
    feed.publish('x.one', true)
    feed.publish('y.one', true)
    await settle()
    expect(feed.acks()).toEqual([1, 2])
    // y.two: only the follower b wants it; the leader relays it and closes before b's ack comes
    feed.publish('y.two', true)
    a!.client.close()
    // published while no tab leads: replayed to the next leader
    feed.publish('x.two', true)
    feed.publish('y.three', true)
    // the next tab leads, and gathers the positions before it connects
    await settle()
    vi.advanceTimersByTime(GATHER)
    await until(() => [b, c].every((t) => t!.client.status === 'open') && feed.server.sockets.length === 2, 'the hand-over')
    expect(leaderOf(feed)).toBe('2')
    await settle()
    // each tab numbers its own events; the session's seqs, which the acks name, are 2, 3, 5 and 1, 4
    expect(b!.got.map((g) => g.event)).toEqual(['y.one', 'y.two', 'y.three'])
    expect(b!.seqs()).toEqual([1, 2, 3])
    expect(c!.got.map((g) => g.event)).toEqual(['x.one', 'x.two'])
    expect(c!.seqs()).toEqual([1, 2])
    const [first, second] = feed.server.sockets
    expect(first!.messages('ack').map((m) => m.seq)).toEqual([1, 2])
    // b took the lock before the closed leader's last message (y.two, which also said that 2 was
    // acked) reached it: b resumes after 2 and gives its own last ack (2) to its link again
    expect(second!.messages('hello')[0]).toMatchObject({ session: 'S', after: 2 })
    // 3, 4, 5: replayed, acked once the tab that wanted each had it (b, the leader, at once; c a moment later)
    expect(second!.messages('ack').map((m) => m.seq)).toEqual([2, 3, 5, 4])
  })

  it('an ack a follower sent to a leader that closed before it came goes out from the next leader, once', async () => {
    const feed = scriptedFeed()
    const [a, b] = await openTabs(feed, ['a.*'], ['tick'], ['a.*'])
    for (let i = 0; i < 3; i++) feed.publish('tick', true)
    await settle()
    expect(feed.acks()).toEqual([1, 2, 3])
    // the leader closes as b delivers the next one: b's ack goes to no one
    b!.client.on('tick', (_data, meta) => meta.seq === 4 && a!.client.close())
    feed.publish('tick', true)
    await settle()
    vi.advanceTimersByTime(GATHER)
    await until(() => feed.server.sockets.length === 2 && b!.client.status === 'open', 'the hand-over')
    await settle()
    expect(leaderOf(feed)).toBe('2')
    expect(b!.seqs()).toEqual([1, 2, 3, 4])
    // 4 once; 1..3 not again (the event that brought 4 also said they had gone out)
    expect(feed.server.sockets[1]!.messages('ack').map((m) => m.seq)).toEqual([4])
    expect(feed.acks()).toEqual([1, 2, 3, 4])
  })

  /** A channel of the feed's link, for a tab the test plays by hand; closed after the test. */
  function rawTab(): { channel: BroadcastChannel; heard: TabMessage[] } {
    const channel = new BroadcastChannel(tabKey(toConfig({ url: 'wss://feed.test/ws' }), ''))
    const heard: TabMessage[] = []
    channel.onmessage = (e: MessageEvent<TabMessage>) => heard.push(e.data)
    cleanups.push(() => channel.close())
    return { channel, heard }
  }

  it('the patterns of a tab that stops answering the rounds (it crashed) leave the union; back, it gets them again', async () => {
    const feed = scriptedFeed()
    const [, b] = await openTabs(feed, ['a.*'], ['b.*'])
    const ghost = rawTab()
    const hello: TabMessage = { t: 'tab', tab: 'ghost', p: ['g.*'], s: 'S', n: 0 }
    ghost.channel.postMessage(hello)
    await until(() => feed.patterns().includes('g.*'), "the ghost's patterns")
    expect(feed.patterns()).toEqual(['a.*', 'b.*', 'g.*'])
    // b answers every round; the ghost none: two rounds missed are not yet too many
    await advance((MISSED * CHECK) / 2)
    expect(ghost.heard.filter((m) => m.t === 'who')).toHaveLength(MISSED)
    expect(feed.patterns()).toEqual(['a.*', 'b.*', 'g.*'])
    await advance(CHECK / 2)
    expect(feed.patterns()).toEqual(['a.*', 'b.*'])
    // a tab that was frozen answers when it runs again: its patterns come back
    ghost.channel.postMessage(hello)
    await until(() => feed.patterns().includes('g.*'), "the ghost's patterns again")
    // and stay while it answers
    ghost.channel.onmessage = (e: MessageEvent<TabMessage>) => e.data.t === 'who' && ghost.channel.postMessage(hello)
    await advance(5 * CHECK)
    expect(feed.patterns()).toEqual(['a.*', 'b.*', 'g.*'])
    expect(b!.client.status).toBe('open')
    expect(feed.server.sockets).toHaveLength(1)
  })

  it("the leader answers a probe from a timer, not from the channel's handler (a frozen leader, whose handler runs, gives no answer)", async () => {
    const feed = scriptedFeed()
    await openTabs(feed, [])
    const prober = rawTab()
    prober.channel.postMessage({ t: 'probe' } satisfies TabMessage)
    // channel messages only, no timer
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r))
    expect(prober.heard).toEqual([])
    vi.advanceTimersByTime(0)
    await until(() => prober.heard.length > 0, 'the answer')
    expect(prober.heard).toEqual([expect.objectContaining({ t: 'st', v: 'open' })])
  })

  it('a refresh() made while the next leader gathers the positions goes out from its link once', async () => {
    const feed = scriptedFeed()
    const [a, b, c] = await openTabs(feed, [], [], [])
    a!.client.close()
    c!.client.refresh()
    await settle()
    vi.advanceTimersByTime(GATHER)
    await until(() => feed.server.sockets.length === 2 && b!.client.status === 'open', 'the hand-over')
    await settle()
    expect(feed.server.sockets.map((s) => s.messages('refresh').length)).toEqual([0, 1])
  })

  it('a refresh() made while the leader is silent (frozen) goes to the tab that takes over, once', async () => {
    const feed = scriptedFeed()
    // a leader that holds the lock and says nothing
    let stolen = false
    void locks.request(tabKey(toConfig({ url: 'wss://feed.test/ws' }), ''), {}, () => new Promise(() => {})).catch(() => (stolen = true))
    const b = scriptedTab(feed, 2)
    // c comes later: b probes the silent leader first, and takes over
    await advance(CHECK - GRACE)
    const c = scriptedTab(feed, 3)
    await settle()
    c.client.refresh()
    await advance(GRACE * 2.5 + GATHER + 500)
    await until(() => [b, c].every((t) => t.client.status === 'open'), 'b to take over')
    await settle()
    expect(stolen).toBe(true)
    expect(leaderOf(feed)).toBe('2')
    expect(feed.server.sockets).toHaveLength(1)
    expect(feed.server.sockets[0]!.messages('refresh')).toHaveLength(1)
  })

})
