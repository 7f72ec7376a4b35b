import { svelte } from '@sveltejs/vite-plugin-svelte'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * The example apps in examples/: each runs its own tests with its own vite.config.ts (framework
 * plugin, happy-dom), as the app team would run them. They import `wirefeed` by name, that is from
 * dist/; their set-up file stops them with a clear message when the package is not built.
 */
const EXAMPLES = ['react', 'vue', 'svelte', 'vanilla']
const requireDist = fileURLToPath(new URL('./test/examples/require-dist.ts', import.meta.url))

export default defineConfig({
  // compiles the .svelte fixtures of the Svelte adapter's tests
  plugins: [svelte({ configFile: false })],
  // happy-dom test files run in Vite's `client` environment, which Vitest resolves like Node (no
  // `browser` condition). Svelte needs its browser build to mount components there; node test
  // files (the `ssr` environment, every other test) resolve as before and get the server build.
  environments: { client: { resolve: { conditions: ['browser'] } } },
  test: {
    projects: [
      // the package's own suites: everything in this file, as it stands
      { extends: true, test: { name: 'wirefeed' } },
      ...EXAMPLES.map((name) => ({
        extends: `./examples/${name}/vite.config.ts`,
        root: `./examples/${name}`,
        // the repo's cache, not a node_modules/ of its own inside the example
        cacheDir: fileURLToPath(new URL(`./node_modules/.vite/examples/${name}`, import.meta.url)),
        test: { name: `examples/${name}`, setupFiles: [requireDist] },
      })),
    ],
    environment: 'node',
    // .tsx: the React adapter's tests. DOM tests pick happy-dom per file (`// @vitest-environment`).
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Type-level tests (`expectTypeOf`) are checked by tsc, never executed.
    typecheck: {
      enabled: true,
      include: ['test/types/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    benchmark: {
      include: ['test/bench/**/*.bench.ts'],
    },
    // CI has 2 cores. Child processes (the package tests spawn npm, tsc and node) are
    // isolated more reliably in forks than in worker threads; two workers keep both
    // cores busy without oversubscribing them while tsc or npm runs beside the tests.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 10_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
  },
})
