import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [react()],
  // `npm start` serves the live demo's realtime server, with simulated alerts, on port 8080.
  server: {
    proxy: {
      '/ws/events': { target: 'ws://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
    },
  },
  test: { environment: 'happy-dom' },
})
