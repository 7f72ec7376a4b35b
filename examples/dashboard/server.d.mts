/** Types of server.mjs, for the TypeScript tests that start the demo in-process. */

export interface DemoClientOptions {
  reconnect?: { minDelay?: number; maxDelay?: number; factor?: number; jitter?: number; maxAttempts?: number; connectTimeout?: number }
  heartbeat?: { interval?: number; timeout?: number }
  polling?: { interval?: number; wait?: number; upgradeInterval?: number }
  replay?: { timeout?: number; maxBuffer?: number }
}

export interface DemoOptions {
  /** 0 picks a free port. @default 0 */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** No console output. @default false */
  quiet?: boolean
  /** ms between simulated events. @default 300 */
  eventInterval?: number
  /** Overrides of DEMO_CLIENT_OPTIONS, per group. */
  client?: DemoClientOptions
  /** Seed of the simulated events. @default 42 */
  seed?: number
}

/** The server counters, summed over every realtime server the demo ran (restarts), and the current gauges. */
export interface DemoServerStats {
  published: number
  delivered: number
  messagesSent: number
  replays: number
  replayFailures: number
  polls: number
  posts: number
  heartbeatTimeouts: number
  connections: number
  sessions: number
  heldPolls: number
}

export interface DemoState {
  /** publish() calls the event source made to a live realtime server. */
  published: number
  paused: boolean
  refusing: boolean
  silent: boolean
  restarts: number
  restarting: boolean
  server: DemoServerStats
}

export interface Demo {
  /** `http://host:port/`: the page. */
  url: string
  state(): DemoState
  /** Stop (true) or resume (false) the simulated events. */
  pause(on?: boolean): void
  close(): Promise<void>
}

export declare const DEMO_CLIENT_OPTIONS: Required<DemoClientOptions>

export declare function startDemo(options?: DemoOptions): Promise<Demo>
