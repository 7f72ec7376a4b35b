import { defineConfig } from 'vitest/config'

/**
 * `npm run test:soak`: the fault soak of test/e2e/faults.test.ts at five times the size it runs at
 * in `npm test` (100,000 published events and 500 faults per run instead of 20,000 and 100), about
 * two minutes per test. `FAULTS_SEED=<n>` replays a run's schedule of faults, as in `npm test`.
 * `.ci/run` runs it after `npm test`.
 */
export default defineConfig({
  test: {
    name: 'soak',
    environment: 'node',
    include: ['test/e2e/faults.test.ts'],
    env: { WIREFEED_SOAK: '1' },
    pool: 'forks',
    maxWorkers: 1,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
})
