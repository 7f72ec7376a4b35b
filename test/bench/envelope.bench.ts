/**
 * How to check a frame's envelope on the hot path: JSON.parse alone (the floor), the hand-written
 * v1 guards (what the client uses), zod/mini, and classic zod (JIT: compiles with `new Function`,
 * which a strict CSP forbids). Run with `npm run bench`; figures and the decision are recorded in
 * BENCHMARKS.md.
 */
import { bench, describe } from 'vitest'
import { v1Protocol } from '../../src/protocol/v1.js'
import { serverMessage as mini } from '../../src/protocol/v1-schema.js'
import { serverMessage as classic } from './classic-schema.js'
import { eventFrame } from './frames.js'

let sink: unknown
const options = { time: 400, warmupTime: 100 }

describe('envelope check of one event frame', () => {
  bench('JSON.parse only (floor)', () => {
    sink = JSON.parse(eventFrame)
  }, options)
  bench('v1 guards (client hot path)', () => {
    sink = v1Protocol.decode(eventFrame)
  }, options)
  bench('zod/mini safeParse', () => {
    sink = mini.safeParse(JSON.parse(eventFrame))
  }, options)
  bench('classic zod safeParse', () => {
    sink = classic.safeParse(JSON.parse(eventFrame))
  }, options)
})

export { sink }
