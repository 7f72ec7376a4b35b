import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocketTransport } from '../../src/transport/websocket.js'
import type { WebSocketConstructor } from '../../src/types.js'

/** A socket the test drives by hand: `serverOpen()`, `serverMessage()`, `fail()`, `serverClose()`. */
class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  static all: FakeSocket[] = []
  readyState = 0
  binaryType = 'blob'
  sent: string[] = []
  closedWith: [number | undefined, string | undefined] | undefined
  constructor(readonly url: string) {
    super()
    FakeSocket.all.push(this)
  }
  send(data: string): void {
    this.sent.push(data)
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason]
    this.readyState = 3
  }
  serverOpen(): void {
    this.readyState = 1
    this.dispatchEvent(new Event('open'))
  }
  serverMessage(data: unknown): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data }))
  }
  /** A network failure: `error`, then a close without a close frame. */
  fail(): void {
    this.readyState = 3
    this.dispatchEvent(new Event('error'))
    this.dispatchEvent(Object.assign(new Event('close'), { code: 1006, reason: '', wasClean: false }))
  }
  serverClose(code: number, reason = ''): void {
    this.readyState = 3
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason, wasClean: true }))
  }
}

const Fake = FakeSocket as unknown as WebSocketConstructor

function setup(Socket: WebSocketConstructor = Fake) {
  const events: unknown[] = []
  const transport = new WebSocketTransport(
    Socket,
    {
      open: () => events.push('open'),
      message: (data) => events.push(['message', data]),
      close: (code, reason, cause) => events.push(cause === undefined ? ['close', code, reason] : ['close', code, reason, (cause as Error).message]),
    },
    4000,
  )
  return { transport, events }
}

/** The socket of the current attempt, once reconnecting-websocket created it (after its 0 ms wait). */
async function socket(index = FakeSocket.all.length): Promise<FakeSocket> {
  await vi.advanceTimersByTimeAsync(0)
  const s = FakeSocket.all[index]
  if (!s) throw new Error(`no socket #${index}`)
  return s
}

beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all = []
})
afterEach(() => {
  vi.useRealTimers()
})

describe('WebSocketTransport', () => {
  it('opens the given URL and reports open and messages', async () => {
    const { transport, events } = setup()
    transport.open('wss://a.test/ws?token=1')
    const s = await socket(0)
    expect(s.url).toBe('wss://a.test/ws?token=1')
    expect(transport.send('x')).toBe(false)
    s.serverOpen()
    expect(transport.send('hello')).toBe(true)
    expect(s.sent).toEqual(['hello'])
    s.serverMessage('{"type":"welcome"}')
    expect(events).toEqual(['open', ['message', '{"type":"welcome"}']])
  })

  it('a server close keeps its code and reason', async () => {
    const { transport, events } = setup()
    transport.open('wss://a.test/ws')
    const s = await socket(0)
    s.serverOpen()
    s.serverClose(4001, 'token expired')
    expect(events).toEqual(['open', ['close', 4001, 'token expired']])
    expect(transport.send('x')).toBe(false)
  })

  it('a network failure (error, no close frame) is reported once as 1006, not as the 1000 reconnecting-websocket makes of it', async () => {
    const { transport, events } = setup()
    transport.open('wss://a.test/ws')
    const s = await socket(0)
    s.serverOpen()
    s.fail()
    expect(events).toEqual(['open', ['close', 1006, 'connection failed']])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a socket that does not open within the timeout is reported as 1006 timeout', async () => {
    const { transport, events } = setup()
    transport.open('wss://a.test/ws')
    await socket(0)
    await vi.advanceTimersByTimeAsync(3999)
    expect(events).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(events).toEqual([['close', 1006, 'timeout']])
  })

  it('a constructor that throws is a failed attempt with its cause, and no timer is left', async () => {
    const Throwing = Object.assign(
      function () {
        throw new SyntaxError("The URL's scheme must be either 'ws' or 'wss'")
      },
      { CLOSING: 2 },
    ) as unknown as WebSocketConstructor
    const { transport, events } = setup(Throwing)
    transport.open('http://a.test/ws')
    await vi.advanceTimersByTimeAsync(0)
    expect(events).toEqual([['close', 1006, 'could not open', "The URL's scheme must be either 'ws' or 'wss'"]])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('close() drops the socket at once: no close hook, later events ignored', async () => {
    const { transport, events } = setup()
    transport.open('wss://a.test/ws')
    const s = await socket(0)
    s.serverOpen()
    transport.close(4000, 'heartbeat timeout')
    expect(s.closedWith).toEqual([4000, 'heartbeat timeout'])
    s.serverMessage('late')
    s.serverClose(1000)
    expect(events).toEqual(['open'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a new attempt replaces the old socket; the old one is never heard from again', async () => {
    const { transport, events } = setup()
    transport.open('wss://a.test/1')
    const first = await socket(0)
    first.serverOpen()
    transport.open('wss://a.test/2')
    const second = await socket(1)
    expect(second.url).toBe('wss://a.test/2')
    first.serverMessage('old')
    first.serverClose(1000)
    second.serverOpen()
    second.serverMessage('new')
    expect(events).toEqual(['open', 'open', ['message', 'new']])
  })
})
