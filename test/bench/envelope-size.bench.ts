/**
 * Bytes each envelope check adds to a browser bundle (esbuild, minified, gzip -9), printed beside
 * the speed figures of `npm run bench`. Bytes are deterministic; the budget of the whole package
 * is enforced by test/package/size.test.ts.
 */
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { bench, describe } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

async function gzipBytes(contents: string): Promise<number> {
  const out = await build({
    stdin: { contents, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    logLevel: 'silent',
  })
  return gzipSync(out.outputFiles[0]!.contents, { level: 9 }).length
}

const variants = {
  'v1 guards': `import { v1Protocol } from './src/protocol/v1.ts'; export const f = (s) => v1Protocol.decode(s)`,
  'zod/mini schemas': `import { serverMessage } from './src/protocol/v1-schema.ts'; export const f = (s) => serverMessage.safeParse(JSON.parse(s))`,
  'classic zod schemas': `import { serverMessage } from './test/bench/classic-schema.ts'; export const f = (s) => serverMessage.safeParse(JSON.parse(s))`,
}

const sizes: Record<string, number> = {}
for (const [name, code] of Object.entries(variants)) sizes[name] = await gzipBytes(code)
console.log('envelope check, min+gzip bytes:', JSON.stringify(sizes))

describe('envelope check bundle size (see the printed bytes)', () => {
  bench('noop', () => {}, { time: 10, iterations: 1 })
})
