/** Types of notify.mjs, for the tests that start it in-process. */
export interface Notify {
  /** `ws://host:port/ws` */
  url: string
  /** `http://host:port/stats`: the state, an HTML fragment. */
  pollUrl: string
  /** An order came in: change the state and tell every client. */
  order(amount: number): void
  /** The fragment as it is now. */
  fragment(): string
  /** GET /stats requests served. */
  fetches(): number
  close(): Promise<void>
}

export declare function startNotify(options?: { port?: number; host?: string }): Promise<Notify>
