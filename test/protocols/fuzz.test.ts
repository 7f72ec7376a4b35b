/**
 * Every adapter of wirefeed/protocols, fed random text and random JSON (messages of its own shape
 * among them, `__proto__` keys included): decode never throws, always gives null or one of the
 * client's messages, and nothing it gives holds an own `__proto__` key; the HTTP side of notify
 * likewise. `FUZZ_SEED=<n>` replays a failed run's seed.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Inbound, Protocol } from '../../src/protocol/types.js'
import { eventBusProtocol, hubProtocol, notifyProtocol, typedUpdatesProtocol } from '../../src/protocols/index.js'

const seeded = (numRuns: number): { numRuns: number; seed?: number } =>
  process.env.FUZZ_SEED ? { numRuns, seed: Number(process.env.FUZZ_SEED) } : { numRuns }

const PROTOCOLS: Protocol[] = [eventBusProtocol(), typedUpdatesProtocol(), notifyProtocol(), hubProtocol()]
const TYPES = new Set(['welcome', 'event', 'changed', 'replay_failed', 'ping', 'pong', 'auth_ok', 'error', 'invalid'])

/** Whether `v`, or anything inside it, has an own `__proto__` key or a prototype other than Object's or Array's. */
function polluted(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== Array.prototype) return true
  return Object.hasOwn(v, '__proto__') || Object.values(v).some(polluted)
}

/** A message of the shapes these servers send, with random values and now and then a `__proto__` key. */
const frame = fc.oneof(
  fc.string(),
  fc.json(),
  fc
    .record({
      type: fc.constantFrom('alert', 'metrics_update', 'dashboard_update', 'connection', 'heartbeat', 'error', 'pong', '__proto__', 'constructor'),
      data: fc.jsonValue(),
      timestamp: fc.oneof(fc.constant(undefined), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.jsonValue()),
      id: fc.jsonValue(),
      client_id: fc.jsonValue(),
      code: fc.jsonValue(),
      message: fc.jsonValue(),
      action: fc.constantFrom(undefined, 'pong', 'ping', 1),
    })
    .chain((m) => fc.boolean().map((proto) => JSON.stringify(m).replace(/^\{/, proto ? '{"__proto__":{"polluted":1},' : '{'))),
)

describe('the adapters of wirefeed/protocols on random input', () => {
  it.each(PROTOCOLS.map((p) => [p.name, p] as const))('%s: decode never throws and gives only clean client messages', (_name, protocol) => {
    fc.assert(
      fc.property(frame, (text) => {
        const m: Inbound | null = protocol.decode(text)
        if (m === null) return
        expect(TYPES.has(m.type)).toBe(true)
        expect(polluted(m)).toBe(false)
        if (m.type === 'invalid') expect(typeof m.error).toBe('string')
      }),
      seeded(2000),
    )
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it('notify: every answer is one clean event', () => {
    const http = notifyProtocol().http
    fc.assert(
      fc.property(frame, (body) => {
        const decoded = http?.decodePoll(body)
        expect(decoded?.ok).toBe(true)
        if (!decoded?.ok) return
        expect(decoded.value.events).toHaveLength(1)
        expect(polluted(decoded.value)).toBe(false)
      }),
      seeded(2000),
    )
  })
})
