/** Types of hub.mjs, for the tests that start it in-process. */
export interface Dashboard {
  active_users: number
  open_incidents: number
  version: number
}

export interface Hub {
  /** `ws://host:port/ws` (add `?token=...`) */
  url: string
  /** Change the dashboard and push it to every client. */
  change(values: Partial<Omit<Dashboard, 'version'>>): void
  /** Every message the clients sent, parsed, in order. */
  received: unknown[]
  /** The token of every socket that connected. */
  tokens: string[]
  close(): Promise<void>
}

export declare function startHub(options?: {
  port?: number
  host?: string
  /** Whether a token is valid. @default any non-empty token */
  verify?: (token: string) => boolean
}): Promise<Hub>
