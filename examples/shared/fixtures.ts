/** What the four example apps' tests publish and wait for. */
import type { Alert } from './realtime'

// A dropped connection comes back after the first backoff step (1 s ± 20%).
export const RECONNECT = { timeout: 3000 }

export const disk: Alert = { id: 'a-1', severity: 'high', host: 'db-1', message: 'disk 91% full' }
export const latency: Alert = { id: 'a-2', severity: 'low', host: 'web-1', message: 'p99 latency above 800 ms' }
export const tls: Alert = { id: 'a-3', severity: 'low', host: 'web-2', message: 'TLS certificate expires in 6 days' }
