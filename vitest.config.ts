import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
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
