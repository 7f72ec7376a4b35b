/**
 * The `auth` option: the token travels in `hello`, is renewed over the live socket with `auth`
 * (`refreshBefore` ms before `expiresAt`, or sooner when `auth_ok` says so), one `getToken` call
 * at a time, a failed call is an `auth` error retried on the backoff schedule, a refused token
 * (4001) is replaced by a fresh one on the next attempt, and the token shows up in no log line,
 * error or stat. Scripted sockets and fake timers: every renewal time is checked to the ms.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { RealtimeError } from '../../src/errors.js'
import type { AuthOptions, AuthToken, ClientOptions } from '../../src/types.js'
import { autoWelcome, type ScriptedServer, type ScriptedSocket, scriptedServer } from './scripted-socket.js'

const RECONNECT = { minDelay: 100, maxDelay: 800, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 1000 }
const MINUTE = 60_000
const clients: RealtimeClient[] = []

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
})
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  expect(vi.getTimerCount(), 'timers left after close()').toBe(0)
  vi.useRealTimers()
})

/** Run what is due now: timers due at this instant, and the chains of promises they start (getToken, open, welcome). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await vi.advanceTimersByTimeAsync(0)
    for (let j = 0; j < 20; j++) await Promise.resolve()
  }
}

/** Move the clock on by `ms`, then settle. */
async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  await settle()
}

/** A `getToken` that hands out `tok-1`, `tok-2`, ... each valid for `lifetime` ms; `at` holds when each call was made. */
function tokenSource(lifetime = 10 * MINUTE) {
  const at: number[] = []
  const getToken = vi.fn(async (): Promise<AuthToken> => {
    at.push(Date.now())
    return { token: `tok-${at.length}`, expiresAt: Date.now() + lifetime }
  })
  return { getToken, at }
}

/**
 * The usual scripted server (`welcome` on `hello`), which also answers `auth` through `onAuth`:
 * `auth_ok` by default.
 */
function authServer(onAuth: (socket: ScriptedSocket, token: unknown) => void = (s) => queueMicrotask(() => s.frame({ type: 'auth_ok' }))): ScriptedServer {
  const server = scriptedServer()
  autoWelcome(server)
  const welcome = server.onSend
  server.onSend = (s, m) => {
    welcome?.(s, m)
    if (m.type === 'auth') onAuth(s, m.token)
  }
  return server
}

function start(server: ScriptedServer, auth: AuthOptions, extra: Partial<ClientOptions> = {}) {
  const c = new RealtimeClient({ url: 'wss://api.test/ws', WebSocket: server.WebSocket, dedupe: false, reconnect: RECONNECT, heartbeat: { interval: 0 }, auth, ...extra })
  clients.push(c)
  const errors: RealtimeError[] = []
  const statuses: string[] = [c.status]
  c.on('error', (e) => errors.push(e))
  c.on('status', (s) => statuses.push(s))
  return { c, errors, statuses }
}

/** The tokens the client sent on every socket, in order: `["hello", token]` or `["auth", token]`. */
const tokensSent = (server: ScriptedServer): [string, unknown][] =>
  server.sockets.flatMap((s) => s.messages().filter((m) => m.type === 'hello' || m.type === 'auth').map((m): [string, unknown] => [m.type, m.token]))

describe('auth: the token in hello, renewed without reconnecting', () => {
  it('sends the token in hello and renews it over the same socket exactly refreshBefore ms before expiresAt', async () => {
    const server = authServer()
    const { getToken, at } = tokenSource(10 * MINUTE)
    const { c, errors } = start(server, { getToken, refreshBefore: MINUTE })
    const t0 = Date.now()
    await settle()
    expect(c.status).toBe('open')
    expect(tokensSent(server)).toEqual([['hello', 'tok-1']])

    await advance(9 * MINUTE - 1)
    expect(getToken).toHaveBeenCalledTimes(1)
    await advance(1)
    expect(at.map((t) => t - t0)).toEqual([0, 9 * MINUTE])
    expect(tokensSent(server)).toEqual([['hello', 'tok-1'], ['auth', 'tok-2']])

    // the next one, 9 minutes after the second token was issued
    await advance(9 * MINUTE)
    expect(at.map((t) => t - t0)).toEqual([0, 9 * MINUTE, 18 * MINUTE])
    expect(tokensSent(server)).toEqual([['hello', 'tok-1'], ['auth', 'tok-2'], ['auth', 'tok-3']])
    expect(server.sockets).toHaveLength(1)
    expect(c.status).toBe('open')
    expect(c.stats.reconnects).toBe(0)
    expect(errors).toEqual([])
  })

  it('renews sooner when auth_ok says the credentials end before expiresAt', async () => {
    const server = authServer((s) => queueMicrotask(() => s.frame({ type: 'auth_ok', expires: Date.now() + 5 * MINUTE })))
    const { getToken, at } = tokenSource(60 * MINUTE)
    start(server, { getToken, refreshBefore: MINUTE })
    const t0 = Date.now()
    await settle()
    await advance(59 * MINUTE)
    expect(at.map((t) => t - t0)).toEqual([0, 59 * MINUTE])
    // auth_ok: expires in 5 minutes, so the next renewal is 4 minutes on, not 59
    await advance(4 * MINUTE - 1)
    expect(getToken).toHaveBeenCalledTimes(2)
    await advance(1)
    expect(at.map((t) => t - t0)).toEqual([0, 59 * MINUTE, 63 * MINUTE])
    expect(tokensSent(server).map(([, t]) => t)).toEqual(['tok-1', 'tok-2', 'tok-3'])
  })

  it('renews a token that lives less than twice refreshBefore halfway through its life, and with no expiresAt never', async () => {
    const server = authServer()
    const short = tokenSource(MINUTE)
    start(server, { getToken: short.getToken }) // refreshBefore: 60 s by default
    const t0 = Date.now()
    await settle()
    await advance(MINUTE)
    expect(short.at.map((t) => t - t0)).toEqual([0, 30_000, 60_000])

    const forever = vi.fn(async () => ({ token: 'forever' }))
    const other = authServer()
    start(other, { getToken: forever })
    await settle()
    await advance(24 * 60 * MINUTE)
    expect(forever).toHaveBeenCalledTimes(1)
    expect(tokensSent(other)).toEqual([['hello', 'forever']])
  })

  it('waits out a renewal time beyond what one timer can hold', async () => {
    const server = authServer()
    const { getToken, at } = tokenSource(60 * 24 * 60 * MINUTE) // 60 days: past the 2^31 - 1 ms a timer holds
    start(server, { getToken, refreshBefore: MINUTE })
    const t0 = Date.now()
    await settle()
    await advance(2 ** 31)
    expect(getToken).toHaveBeenCalledTimes(1)
    await advance(60 * 24 * 60 * MINUTE - MINUTE - 2 ** 31)
    expect(at.map((t) => t - t0)).toEqual([0, 60 * 24 * 60 * MINUTE - MINUTE])
  })
})

describe('auth: one getToken call at a time', () => {
  it('a renewal under way when the socket drops: the next attempt shares that call, and its hello carries the new token', async () => {
    const server = authServer()
    let release: ((t: AuthToken) => void) | undefined
    let calls = 0
    const getToken = vi.fn(() => {
      calls++
      if (calls === 1) return Promise.resolve({ token: 'tok-1', expiresAt: Date.now() + 10 * MINUTE })
      return new Promise<AuthToken>((resolve) => (release = resolve))
    })
    const { c } = start(server, { getToken, refreshBefore: MINUTE })
    await settle()
    await advance(9 * MINUTE)
    expect(getToken).toHaveBeenCalledTimes(2) // the renewal, still waiting
    server.last?.serverClose(1006)
    await advance(100) // the next attempt is due, and waits for the same call
    expect(getToken).toHaveBeenCalledTimes(2)
    expect(server.sockets).toHaveLength(1)
    release?.({ token: 'tok-2', expiresAt: Date.now() + 10 * MINUTE })
    await settle()
    expect(c.status).toBe('open')
    expect(getToken).toHaveBeenCalledTimes(2)
    // no `auth` on the dead socket or the new one: the new socket's hello carries the token
    expect(tokensSent(server)).toEqual([['hello', 'tok-1'], ['hello', 'tok-2']])
  })

  it('deduplicated handles share one connection and one token: the first handle\'s auth is used', async () => {
    const server = authServer()
    const first = tokenSource()
    const second = tokenSource()
    const a = new RealtimeClient({ url: 'wss://api.test/ws-shared', WebSocket: server.WebSocket, reconnect: RECONNECT, auth: { getToken: first.getToken } })
    const b = new RealtimeClient({ url: 'wss://api.test/ws-shared', WebSocket: server.WebSocket, reconnect: RECONNECT, auth: { getToken: second.getToken } })
    clients.push(a, b)
    await settle()
    expect([a.status, b.status]).toEqual(['open', 'open'])
    expect(server.sockets).toHaveLength(1)
    expect(first.getToken).toHaveBeenCalledTimes(1)
    expect(second.getToken).not.toHaveBeenCalled()
    expect(tokensSent(server)).toEqual([['hello', 'tok-1']])
  })
})

describe('auth: failures', () => {
  it('a getToken that rejects before an attempt is an auth error; the attempt is retried on the backoff schedule', async () => {
    const server = authServer()
    const at: number[] = []
    const getToken = vi.fn(async () => {
      at.push(Date.now())
      if (at.length <= 2) throw new Error('identity provider down')
      return { token: 'tok-3', expiresAt: Date.now() + 10 * MINUTE }
    })
    const { c, errors, statuses } = start(server, { getToken })
    const t0 = Date.now()
    await settle()
    expect(errors.map((e) => [e.code, e.message, (e.cause as Error).message])).toEqual([['auth', 'auth.getToken failed', 'identity provider down']])
    expect(server.sockets).toHaveLength(0)
    expect(c.status).toBe('reconnecting')
    await advance(301) // a retried socket opens 1 ms after its attempt (the socket library's own 0 ms wait)
    expect(at.map((t) => t - t0)).toEqual([0, 100, 300])
    expect(errors.map((e) => e.code)).toEqual(['auth', 'auth'])
    expect(statuses).toEqual(['connecting', 'reconnecting', 'open'])
    expect(tokensSent(server)).toEqual([['hello', 'tok-3']])
  })

  it('a getToken that throws at once, or gives no token, is an auth error too', async () => {
    const server = authServer()
    const answers: (() => unknown)[] = [
      () => {
        throw new Error('sync throw')
      },
      () => undefined,
      () => ({ token: 42 }),
      () => ({ token: 'tok', expiresAt: 'tomorrow' }),
      () => ({ token: 'tok-ok' }),
    ]
    const getToken = vi.fn(() => (answers.shift() as () => AuthToken)())
    const { c, errors } = start(server, { getToken })
    await advance(100 + 200 + 400 + 800 + 1)
    expect(errors.map((e) => [e.code, e.cause instanceof Error])).toEqual([['auth', true], ['auth', true], ['auth', true], ['auth', true]])
    expect(errors.map((e) => (e.cause as Error).message).slice(2)).toEqual(['expected { token: string, expiresAt?: number }', 'expected { token: string, expiresAt?: number }'])
    expect(c.status).toBe('open')
    expect(tokensSent(server)).toEqual([['hello', 'tok-ok']])
  })

  it('a failed renewal keeps the link up, is reported, and is tried again a backoff step later', async () => {
    const server = authServer()
    const at: number[] = []
    const getToken = vi.fn(async () => {
      at.push(Date.now())
      if (at.length === 2 || at.length === 3) throw new Error('refresh failed')
      return { token: `tok-${at.length}`, expiresAt: Date.now() + 10 * MINUTE }
    })
    const { c, errors, statuses } = start(server, { getToken, refreshBefore: MINUTE })
    const t0 = Date.now()
    await settle()
    await advance(9 * MINUTE + 300)
    expect(at.map((t) => t - t0)).toEqual([0, 9 * MINUTE, 9 * MINUTE + 100, 9 * MINUTE + 300])
    expect(errors.map((e) => e.code)).toEqual(['auth', 'auth'])
    expect(tokensSent(server)).toEqual([['hello', 'tok-1'], ['auth', 'tok-4']])
    expect(server.sockets).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open'])
    expect(c.status).toBe('open')
  })

  it('a renewal the server refuses (4001) is followed at once by a new socket whose hello carries a fresh token', async () => {
    const server = authServer((s) => queueMicrotask(() => s.serverClose(4001, 'token refused')))
    const { getToken } = tokenSource()
    const { c, errors, statuses } = start(server, { getToken, refreshBefore: MINUTE })
    await settle()
    // the retry at once and the socket library's own wait are 0 ms timers, run 1 ms apart by the fake clock
    await advance(9 * MINUTE + 2)
    expect(tokensSent(server)).toEqual([['hello', 'tok-1'], ['auth', 'tok-2'], ['hello', 'tok-3']])
    expect(server.sockets).toHaveLength(2)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
    expect(c.stats.reconnects).toBe(1)
    expect(errors).toEqual([])
  })

  it('a hello refused with 4001 gets a fresh token for each attempt, and three refusals stop the client', async () => {
    const server = scriptedServer()
    server.onSocket = (s) => queueMicrotask(() => s.open())
    server.onSend = (s, m) => m.type === 'hello' && queueMicrotask(() => s.serverClose(4001))
    const { getToken } = tokenSource()
    const { c, errors } = start(server, { getToken })
    await advance(1000)
    expect(tokensSent(server)).toEqual([['hello', 'tok-1'], ['hello', 'tok-2'], ['hello', 'tok-3']])
    expect(c.status).toBe('closed')
    expect(errors.map((e) => e.code)).toEqual(['unauthorized'])
  })
})

describe('auth: clean-up and secrecy', () => {
  it('close() while getToken is under way: no socket, no error, no timer afterwards', async () => {
    const server = authServer()
    let release: ((t: AuthToken) => void) | undefined
    const getToken = vi.fn(() => new Promise<AuthToken>((resolve) => (release = resolve)))
    const { c, errors } = start(server, { getToken })
    await settle()
    c.close()
    release?.({ token: 'late', expiresAt: Date.now() + MINUTE })
    await settle()
    expect(server.sockets).toHaveLength(0)
    expect(errors).toEqual([])
  })

  it('close() with a renewal scheduled, or a renewal retry waiting, leaves no timer', async () => {
    const server = authServer()
    let fail = false
    const getToken = vi.fn(async () => {
      if (fail) throw new Error('down')
      return { token: 'tok', expiresAt: Date.now() + 10 * MINUTE }
    })
    const { c } = start(server, { getToken, refreshBefore: MINUTE })
    await settle()
    expect(vi.getTimerCount()).toBeGreaterThan(0)
    fail = true
    await advance(9 * MINUTE)
    expect(getToken).toHaveBeenCalledTimes(2)
    c.close() // afterEach: no timer left
  })

  it('the token appears in no log line, error message or stat', async () => {
    const lines: string[] = []
    const logger = { debug: (...args: unknown[]) => lines.push(args.map(String).join(' ')) }
    let n = 0
    const getToken = vi.fn(async () => {
      n++
      if (n === 3) throw new Error('provider down')
      return { token: `SECRET-${n}`, expiresAt: Date.now() + 10 * MINUTE }
    })
    const server = authServer((s) => queueMicrotask(() => s.serverClose(4001, 'refused')))
    const { c, errors } = start(server, { getToken, refreshBefore: MINUTE }, { logger })
    await settle()
    await advance(9 * MINUTE + 1000)
    expect(tokensSent(server).map(([, t]) => t)).toEqual(['SECRET-1', 'SECRET-2', 'SECRET-4'])
    expect(errors.map((e) => e.code)).toEqual(['auth'])
    expect(lines.some((l) => l.includes('renewing credentials'))).toBe(true)
    const everything = [...lines, ...errors.map((e) => `${e.message} ${String(e.stack)}`), JSON.stringify(c.stats)].join('\n')
    expect(everything).not.toContain('SECRET')
  })
})
