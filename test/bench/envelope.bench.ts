/**
 * How to check a frame's envelope on the hot path: JSON.parse alone (the floor), the hand-written
 * v1 guards (what the client uses), zod/mini, and classic zod (JIT: compiles with `new Function`,
 * which a strict CSP forbids). Run with `npm run bench`; figures and the decision are recorded in
 * BENCHMARKS.md.
 */
import { envelopeBenches } from './envelope-cases.js'

envelopeBenches('envelope check of one event frame', 'classic zod safeParse')
