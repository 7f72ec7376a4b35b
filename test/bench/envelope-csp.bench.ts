/**
 * The envelope check of envelope.bench.ts with classic zod in `jitless` mode: what it does under a
 * strict Content-Security-Policy (`script-src 'self'`), where `new Function` is refused. A file of
 * its own because `z.config` is global to the process.
 */
import * as z from 'zod'
import { envelopeBenches } from './envelope-cases.js'

z.config({ jitless: true })
envelopeBenches('envelope check under a strict CSP (no new Function)', 'classic zod safeParse, jitless')
