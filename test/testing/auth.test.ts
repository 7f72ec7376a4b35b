/**
 * `wirefeed/testing` and credentials: the mock records every token a client presents (`hello`,
 * `auth`, the Bearer header of polls), answers `auth` with `auth_ok` (and `authExpires`), and
 * `refuseAuth()` turns a renewal away with 4001, as a real server refusing a token would.
 */
import { describe, expect, it } from 'vitest'
import { RealtimeClient } from '../../src/index.js'
import type { ClientOptions, Status } from '../../src/types.js'
import { FAST, useMock } from './harness.js'

const WS_URL = 'wss://api.example.test/ws/auth'
const POLL_URL = 'https://api.example.test/api/auth-events'

const { mock, clients } = useMock(WS_URL, POLL_URL)

/** A client whose `getToken` hands out `tok-1`, `tok-2`, ... each valid for `lifetime` ms. */
function connect(lifetime: number, refreshBefore: number, o: Partial<ClientOptions> = {}) {
  let n = 0
  const getToken = async () => ({ token: `tok-${++n}`, expiresAt: Date.now() + lifetime })
  const client = new RealtimeClient({ url: WS_URL, dedupe: false, ...FAST, auth: { getToken, refreshBefore }, ...o })
  clients.push(client)
  const statuses: Status[] = [client.status]
  client.on('status', (s) => statuses.push(s))
  return { client, statuses }
}

describe('createRealtimeMock and auth', () => {
  it('records the token of hello and of each renewal, answers auth_ok with authExpires, and refuseAuth() makes the client reconnect with a fresh token', async () => {
    const expires = Date.now() + 3_600_000
    mock.authExpires = expires
    // renewed at max(2200 - 1200, 2200 / 2, 1000) = 1100 ms into each token's life
    const { client, statuses } = connect(2200, 1200)
    await mock.waitFor(() => client.status === 'open')
    expect(mock.tokens).toEqual(['tok-1'])
    expect(mock.messages('hello')[0]).toMatchObject({ token: 'tok-1' })

    await mock.waitFor(() => mock.tokens.length === 2, { timeout: 3000 })
    expect(mock.messages('auth')).toEqual([{ type: 'auth', token: 'tok-2' }])
    expect(mock.sentMessages.filter((m) => m.type === 'auth_ok')).toEqual([{ type: 'auth_ok', expires }])
    expect(mock.connections).toBe(1)

    mock.refuseAuth()
    await mock.waitFor(() => mock.connections === 2 && client.status === 'open', { timeout: 3000 })
    expect(mock.tokens).toEqual(['tok-1', 'tok-2', 'tok-3', 'tok-4'])
    expect(mock.messages('hello').at(-1)).toMatchObject({ session: 's-1', token: 'tok-4' })
    expect(mock.sentMessages.filter((m) => m.type === 'auth_ok')).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open'])
  })

  it('records the Bearer token of poll GETs and POSTs; reset() forgets tokens, authExpires and refusals', async () => {
    mock.refuseWebSocket(true)
    const { client } = connect(3_600_000, 60_000, { pollUrl: POLL_URL, polling: { interval: 20, upgradeInterval: 60_000 } })
    await mock.waitFor(() => client.stats.transport === 'polling')
    mock.publish('job', 1, { ack: true })
    await mock.waitFor(() => mock.posts.length === 1)
    expect(mock.tokens.length).toBe(mock.polls.length + 1)
    expect(new Set(mock.tokens)).toEqual(new Set(['tok-1']))

    mock.authExpires = 1
    mock.refuseAuth(3)
    mock.reset()
    expect(mock.tokens).toEqual([])
    expect(mock.authExpires).toBeUndefined()
  })

  it('answers auth_ok without expires by default, and refuses nothing after reset()', async () => {
    mock.refuseAuth(5)
    mock.reset()
    const { client } = connect(2200, 1200)
    await mock.waitFor(() => mock.messages('auth').length === 1, { timeout: 3000 })
    await mock.waitFor(() => mock.sentMessages.some((m) => m.type === 'auth_ok'))
    expect(mock.sentMessages.filter((m) => m.type === 'auth_ok')).toEqual([{ type: 'auth_ok' }])
    expect(mock.connections).toBe(1)
    expect(client.status).toBe('open')
  })
})
