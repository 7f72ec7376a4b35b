/**
 * The same envelope check as envelope.bench.ts, with classic zod in `jitless` mode: what it does
 * under a strict Content-Security-Policy (`script-src 'self'`), where `new Function` is refused.
 * A file of its own because `z.config` is global to the process.
 */
import { bench, describe } from 'vitest'
import { z } from 'zod'
import { v1Protocol } from '../../src/protocol/v1.js'
import { serverMessage as mini } from '../../src/protocol/v1-schema.js'
import { serverMessage as classic } from './classic-schema.js'
import { eventFrame } from './frames.js'

z.config({ jitless: true })
let sink: unknown
const options = { time: 400, warmupTime: 100 }

describe('envelope check under a strict CSP (no new Function)', () => {
  bench('JSON.parse only (floor)', () => {
    sink = JSON.parse(eventFrame)
  }, options)
  bench('v1 guards (client hot path)', () => {
    sink = v1Protocol.decode(eventFrame)
  }, options)
  bench('zod/mini safeParse', () => {
    sink = mini.safeParse(JSON.parse(eventFrame))
  }, options)
  bench('classic zod safeParse, jitless', () => {
    sink = classic.safeParse(JSON.parse(eventFrame))
  }, options)
})

export { sink }
