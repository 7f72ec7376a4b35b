import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // no svelte.config.js: the defaults suit this app (Svelte 5 reads `lang="ts"` by itself)
  plugins: [svelte({ configFile: false })],
  // `npm start` serves the live demo's realtime server, with simulated alerts, on port 8080.
  server: {
    proxy: {
      '/ws/events': { target: 'ws://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
    },
  },
  test: { environment: 'happy-dom' },
  // Tests run in Node: ask for the browser build of Svelte, as the Svelte docs advise.
  ...(process.env.VITEST ? { resolve: { conditions: ['browser'] } } : {}),
})
