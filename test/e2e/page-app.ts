/**
 * The apps of the browser tests: a test page's script bundled for the browser with esbuild, with
 * `wirefeed` resolved to the ESM build in dist/, as the package's "exports" map resolves it for an
 * app. Needs dist/ (`npm test` builds before running vitest).
 */
import { join } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { repoRoot } from '../package/helpers.js'

const wirefeedFromDist: Plugin = {
  name: 'wirefeed-from-dist',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^wirefeed$/ }, () => ({ path: join(repoRoot, 'dist', 'index.js') }))
  },
}

/** `entry` (relative to the repository) bundled as one ES module; `inputs`: the files that went in. */
export async function bundlePageApp(entry: string): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [join(repoRoot, entry)],
    absWorkingDir: repoRoot,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    plugins: [wirefeedFromDist],
    metafile: true,
    write: false,
    logLevel: 'silent',
  })
  const [file] = result.outputFiles
  if (!file) throw new Error(`esbuild produced no output for ${entry}`)
  return { code: file.text, inputs: Object.keys(result.metafile.inputs) }
}
