/** Types of event-bus.mjs, for the tests that start it in-process. */
export interface EventBus {
  /** `ws://host:port/ws` */
  url: string
  /** Send an event to every client that wants its type (skipped for a client with too much unsent data). */
  publish(type: string, data: unknown): void
  /** Every message the clients sent, parsed, in order. */
  received: unknown[]
  /** The subscribed types of each connected client. */
  subscriptions(): string[][]
  skipped(): number
  close(): Promise<void>
}

export declare function startEventBus(options?: { port?: number; host?: string }): Promise<EventBus>
