/**
 * Close code 4001 never makes the client reconnect faster than its backoff schedule: the immediate
 * retry after a 4001 (for a fresh token from the `url` function) is taken once, and again only
 * after a session stayed up `stableAfter` (5 s). A server that answers every `hello` with `welcome`
 * and then 4001 at once would otherwise get a reconnect per round trip, for ever.
 */
import { describe, expect, it, vi } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { RealtimeError } from '../../src/errors.js'
import { type ScriptedServer, scriptedServer, useScriptedClients } from './scripted-socket.js'

const RECONNECT = { minDelay: 100, maxDelay: 800, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 1000 }
const clients = useScriptedClients<RealtimeClient>()


/**
 * A server that accepts each socket and answers `hello` with `welcome`; `refuse(n)` says whether the
 * n-th socket (from 1) is then closed with 4001 at once.
 */
function refusingServer(refuse: (n: number) => boolean): ScriptedServer & { refusals: Refusal[] } {
  const server = Object.assign(scriptedServer(), { refusals: [] as Refusal[] })
  server.onSocket = (s) => queueMicrotask(() => s.open())
  server.onSend = (s, m) => {
    if (m.type !== 'hello') return
    const n = server.sockets.indexOf(s) + 1
    queueMicrotask(() => {
      s.frame({ type: 'welcome', v: 1, session: 's1', resumed: m.session === 's1', seq: 0 })
      if (!refuse(n)) return
      server.refusals.push({ socket: n - 1, at: Date.now() })
      s.serverClose(4001, 'token rejected')
    })
  }
  return server
}

/** A client on `server`; `attempts` holds when each attempt started (its call of the `url` function). */
function start(server: ScriptedServer) {
  const attempts: number[] = []
  const url = (): string => {
    attempts.push(Date.now())
    return `wss://api.test/ws?token=t${attempts.length}`
  }
  const c = new RealtimeClient({ url, WebSocket: server.WebSocket, dedupe: false, reconnect: RECONNECT, heartbeat: { interval: 0 } })
  clients.push(c)
  const errors: RealtimeError[] = []
  c.on('error', (e) => errors.push(e))
  return { c, errors, attempts }
}

/** Socket number `socket` (from 0: the client's attempt of the same number) was closed with 4001 `at`. */
interface Refusal {
  socket: number
  at: number
}

/**
 * How long the client waited after each refusal before its next attempt (its next call of the `url`
 * function). A retry "at once" runs from a 0 ms timer, which fake timers run after 0 or 1 ms.
 */
const waits = (refusals: Refusal[], attempts: number[]): (number | 'at once')[] =>
  refusals.flatMap(({ socket, at }) => {
    const next = attempts[socket + 1]
    return next === undefined ? [] : [next - at <= 1 ? 'at once' : next - at]
  })
const AT_ONCE = 'at once'

describe('4001 after welcome', () => {
  it('a server that welcomes and then refuses at once is retried on the backoff schedule, not in a loop', async () => {
    const server = refusingServer(() => true)
    const { c, errors, attempts } = start(server)
    await vi.advanceTimersByTimeAsync(5000)
    // the first refusal is retried at once; the next ones climb the schedule: 100, 200, 400, 800, 800...
    expect(waits(server.refusals, attempts)).toEqual([AT_ONCE, 100, 200, 400, 800, 800, 800, 800, 800])
    // ten attempts in 5 s, a rate the backoff bounds, not one per round trip
    expect(attempts).toHaveLength(10)
    // a welcome between refusals resets their count: the client goes on, without an error
    expect(errors).toEqual([])
    expect(c.status).toBe('reconnecting')
  })

  it('the immediate retry comes back once a session stayed up stableAfter (5 s), with the schedule from its first step', async () => {
    let refuse = false
    const server = refusingServer(() => refuse)
    const { c, attempts } = start(server)
    /** The server closes the open socket with 4001, and refuses the retry too when `again`; then `ms` pass. */
    const refuse4001 = async (again: boolean, ms: number) => {
      refuse = again
      server.refusals.push({ socket: server.sockets.length - 1, at: Date.now() })
      server.last!.serverClose(4001, 'token expired')
      await vi.advanceTimersByTimeAsync(10)
      refuse = false
      await vi.advanceTimersByTimeAsync(ms)
    }
    await vi.advanceTimersByTimeAsync(0)
    expect(c.status).toBe('open')
    await refuse4001(true, 100)
    expect(waits(server.refusals, attempts)).toEqual([AT_ONCE, 100])
    expect(c.status).toBe('open')

    // the link stays up 5 s: the next 4001 is retried at once again, and the one after waits the first step
    await vi.advanceTimersByTimeAsync(5000)
    await refuse4001(true, 100)
    expect(waits(server.refusals, attempts)).toEqual([AT_ONCE, 100, AT_ONCE, 100])
    expect(c.status).toBe('open')

    // a link that did not stay up 5 s: no retry at once, the schedule goes on from where it was
    await vi.advanceTimersByTimeAsync(4000)
    await refuse4001(false, 200)
    expect(waits(server.refusals, attempts).slice(4)).toEqual([200])
    expect(c.status).toBe('open')
  })

  it('4001 before any welcome: at once, then one backoff step, then the client stops (as before)', async () => {
    const server = scriptedServer()
    const refusals: Refusal[] = []
    server.onSocket = (s) => queueMicrotask(() => s.open())
    server.onSend = (s, m) =>
      m.type === 'hello' &&
      queueMicrotask(() => {
        refusals.push({ socket: server.sockets.indexOf(s), at: Date.now() })
        s.serverClose(4001)
      })
    const { c, errors, attempts } = start(server)
    await vi.advanceTimersByTimeAsync(5000)
    expect(attempts).toHaveLength(3)
    expect(waits(refusals, attempts)).toEqual([AT_ONCE, 100])
    expect(c.status).toBe('closed')
    expect(errors.map((e) => [e.code, e.message])).toEqual([['unauthorized', 'the server refused the credentials 3 times in a row']])
  })
})
