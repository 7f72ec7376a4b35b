/**
 * Set-up file of the example projects (see vitest.config.ts). The example apps import `wirefeed` by
 * name, as any app does, and the package's "exports" map sends that name to dist/. Without a build,
 * this says so, instead of a failed import somewhere inside the first module that needs it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// paths, not URL objects: under happy-dom, `URL` is the DOM's, which node:fs does not take
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { import?: { default?: string } }>
}
const files = Object.values(exports).flatMap((target) => (typeof target === 'object' && target.import?.default ? [target.import.default] : []))
const missing = files.filter((file) => !existsSync(join(root, file)))
if (missing.length > 0) {
  throw new Error(
    `wirefeed is not built (missing ${missing.join(', ')}). The examples import the package by name, ` +
      'which resolves to dist/ through package.json "exports": run `npm run build` first (`npm test` does).',
  )
}
