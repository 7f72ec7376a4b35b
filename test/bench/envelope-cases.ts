/**
 * The envelope-check benchmark cases, shared by envelope.bench.ts (classic zod with its JIT) and
 * envelope-csp.bench.ts (classic zod `jitless`, as under a strict CSP).
 */
import { bench, describe } from 'vitest'
import { v1Protocol } from '../../src/protocol/v1.js'
import { serverMessage as mini } from '../../src/protocol/v1-schema.js'
import { serverMessage as classic } from './classic-schema.js'
import { eventFrame } from './frames.js'

let sink: unknown
const options = { time: 400, warmupTime: 100 }

export function envelopeBenches(title: string, classicName: string): void {
  describe(title, () => {
    bench('JSON.parse only (floor)', () => {
      sink = JSON.parse(eventFrame)
    }, options)
    bench('v1 guards (client hot path)', () => {
      sink = v1Protocol.decode(eventFrame)
    }, options)
    bench('zod/mini safeParse', () => {
      sink = mini.safeParse(JSON.parse(eventFrame))
    }, options)
    bench(classicName, () => {
      sink = classic.safeParse(JSON.parse(eventFrame))
    }, options)
  })
}

export { sink }
