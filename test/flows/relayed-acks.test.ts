/**
 * A link that only relays (a leader tab's, `ackByCaller`): the tab that delivered an event acks it
 * through `ack(seq)`. What the link itself still owes the server: the ack of an event it filtered
 * out (no tab gets to ack it), and nothing at all for a session that did not resume.
 */
import { describe, expect, it, vi } from 'vitest'
import { Connection, type ConnectionSink } from '../../src/connection.js'
import { toConfig } from '../../src/options.js'
import { v1Protocol } from '../../src/protocol/v1.js'
import type { ClientOptions } from '../../src/types.js'
import { autoWelcome, scriptedServer, type ScriptedServer } from './scripted-socket.js'

const RECONNECT = { minDelay: 100, maxDelay: 800, factor: 2, jitter: 0, maxAttempts: 1000, connectTimeout: 1000 }

function relayingLink(server: ScriptedServer, options: Partial<ClientOptions> = {}) {
  const link = new Connection(toConfig({ url: 'wss://api.test/ws', WebSocket: server.WebSocket, reconnect: RECONNECT, heartbeat: { interval: 0 }, ...options }), () => {}, true)
  const seqs: number[] = []
  const sink: ConnectionSink = (kind, value) => kind === 'event' && seqs.push((value as { seq: number }).seq)
  link.route(sink, '*', true)
  link.attach(sink)
  return { link, seqs, detach: () => link.detach(sink, [], ['*']) }
}

const acks = (server: ScriptedServer): unknown[] => server.sockets.flatMap((s) => s.messages('ack'))

describe('a link whose events are acked by whoever delivered them', () => {
  it('acks nothing on delivery; ack(seq) sends one', async () => {
    vi.useFakeTimers()
    const server = scriptedServer()
    autoWelcome(server)
    const { link, seqs, detach } = relayingLink(server)
    link.subscribe(['*'])
    await vi.advanceTimersByTimeAsync(0)
    server.last!.frame({ type: 'event', seq: 1, event: 'alert', data: null, ack: true })
    expect(seqs).toEqual([1])
    expect(acks(server)).toEqual([])
    link.ack(1)
    expect(acks(server)).toEqual([{ type: 'ack', seq: 1 }])
    detach()
    vi.useRealTimers()
  })

  it('acks an event itself when it filtered it out (a server that does not filter): no one else will', async () => {
    vi.useFakeTimers()
    const server = scriptedServer()
    autoWelcome(server)
    const protocol = { ...v1Protocol, capabilities: { ...v1Protocol.capabilities, filter: false } }
    const { link, seqs, detach } = relayingLink(server, { protocol })
    link.subscribe(['alert'])
    await vi.advanceTimersByTimeAsync(0)
    server.last!.frame({ type: 'event', seq: 1, event: 'host', data: null, ack: true })
    server.last!.frame({ type: 'event', seq: 2, event: 'alert', data: null, ack: true })
    expect(seqs).toEqual([2])
    expect(acks(server)).toEqual([{ type: 'ack', seq: 1 }])
    detach()
    vi.useRealTimers()
  })

  it('acks held while the link is down go out when the session resumes, and are dropped when it does not', async () => {
    vi.useFakeTimers()
    const server = scriptedServer()
    // the first two sockets get session s1 (the second resumes it), the third a new session s2
    let n = 0
    server.onSocket = (s) => queueMicrotask(() => s.open())
    server.onSend = (s, m) => {
      if (m.type !== 'hello') return
      n++
      const session = n < 3 ? 's1' : 's2'
      queueMicrotask(() => s.frame({ type: 'welcome', v: 1, session, resumed: m.session === session, seq: n < 3 ? 2 : 0 }))
    }
    const { link, detach } = relayingLink(server)
    await vi.advanceTimersByTimeAsync(0)
    server.last!.serverClose(1006)
    link.ack(1)
    await vi.advanceTimersByTimeAsync(102)
    expect(server.sockets).toHaveLength(2)
    expect(server.sockets[1]!.messages('ack')).toEqual([{ type: 'ack', seq: 1 }])
    server.last!.serverClose(1006)
    link.ack(2)
    await vi.advanceTimersByTimeAsync(202)
    expect(server.sockets).toHaveLength(3)
    expect(server.sockets[2]!.messages()).toEqual([{ type: 'hello', v: 1, session: 's1', after: 2, events: [] }])
    detach()
    expect(vi.getTimerCount()).toBe(0)
    vi.useRealTimers()
  })
})
