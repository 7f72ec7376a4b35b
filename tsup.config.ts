import { defineConfig } from 'tsup'

export default defineConfig({
  // One key per published entry point. A subpath entry is added here *and* in the
  // package.json "exports" map, e.g. `testing: 'src/testing.ts'` -> "./testing".
  entry: {
    index: 'src/index.ts',
    protocols: 'src/protocols/index.ts',
    server: 'src/server/index.ts',
    testing: 'src/testing/index.ts',
    react: 'src/react/index.ts',
    vue: 'src/vue/index.ts',
    svelte: 'src/svelte/index.ts',
  },
  // ESM -> dist/*.js + dist/*.d.ts, CJS -> dist/*.cjs + dist/*.d.cts ("type": "module").
  format: ['esm', 'cjs'],
  // One shared core chunk per format: an adapter and the main entry must share one dedupe
  // registry, in CJS as in ESM (without splitting, each CJS entry carries its own copy).
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // A browser library that also runs in Node (WebSocket/fetch are injectable): no
  // Node or browser specific shims or resolution.
  platform: 'neutral',
  // tsup already leaves every package.json dependency (and its subpaths) external; these are
  // listed so that they stay external even if one is ever moved out of "dependencies".
  external: [/^mitt(\/|$)/, /^reconnecting-websocket(\/|$)/, /^zod(\/|$)/, /^ws(\/|$)/, /^msw(\/|$)/, /^react(\/|$)/, /^vue(\/|$)/, /^svelte(\/|$)/, /^redis(\/|$)/],
})
