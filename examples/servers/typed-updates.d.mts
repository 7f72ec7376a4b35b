/** Types of typed-updates.mjs, for the tests that start it in-process. */
export interface TypedUpdates {
  /** `ws://host:port/ws/metrics` (add `?time_range=...`) */
  url: string
  /** One round of `metrics_update` and `security_metrics_update` to every client, now. */
  push(): void
  /** The query of each socket that connected: its time range, and a token if it sent one. */
  connections: { timeRange: string; token: string | null }[]
  close(): Promise<void>
}

export declare function startTypedUpdates(options?: {
  port?: number
  host?: string
  /** ms between rounds of updates. @default 5000 */
  interval?: number
  /** ms between heartbeats. @default 15000 */
  heartbeat?: number
}): Promise<TypedUpdates>
