/**
 * The client's internal messages and the interface every wire-protocol adapter implements.
 * Nothing outside `src/protocol/` knows what a frame looks like on the wire: the connection only
 * speaks these shapes, and an adapter turns them into frames and back.
 */

/** An application event as the client sees it, whatever the wire carried. */
export interface InboundEvent {
  type: 'event'
  seq: number
  event: string
  data: unknown
  ts?: number
  ack?: boolean
}

export type Inbound =
  | { type: 'welcome'; session: string; resumed: boolean; seq: number; heartbeat?: number }
  | InboundEvent
  | { type: 'replay_failed'; after: number; seq: number }
  | { type: 'ping'; id: number | string }
  | { type: 'pong'; id: number | string }
  | { type: 'auth_ok'; expires?: number }
  | { type: 'error'; code: string; message: string }
  | Invalid

/**
 * A frame that could not be used as it came: `error` says why, fit for an `error` event. With
 * `value`, the frame was repaired (e.g. a `__proto__` key removed): report it, still use the value.
 */
export interface Invalid {
  type: 'invalid'
  error: string
  value?: Exclude<Inbound, Invalid>
}

export type Outbound =
  | { type: 'hello'; session: string | null; after: number | null; events: string[]; token?: string | undefined }
  | { type: 'subscribe'; events: string[] }
  | { type: 'unsubscribe'; events: string[] }
  | { type: 'replay'; after: number }
  | { type: 'ack'; seq: number }
  | { type: 'ping'; id: number }
  | { type: 'pong'; id: number | string }
  | { type: 'refresh' }
  | { type: 'auth'; token: string }

/** What a poll answer decoded to: the answer, or a problem to report. */
export type Decoded<T> =
  | { ok: true; value: T; /** Something was repaired (e.g. a `__proto__` key removed): report it, still use the value. */ warning?: string }
  | { ok: false; error: string }
  | null

/** One poll's answer. `events` are already in the client's internal shape. */
export interface PollResult {
  session: string
  resumed: boolean
  seq: number
  events: InboundEvent[]
}

export interface PollQuery {
  session: string | null
  after: number | null
  events: readonly string[]
  /** Long-poll wait in ms; 0 asks for an immediate answer. */
  wait: number
}

/**
 * A wire protocol. `decode` must never throw: bad input is an `invalid` message with a message fit
 * for an `error` event, an unknown message type is `null` (ignored, for forward compatibility).
 * It returns the message itself, not a wrapper: it runs once per frame on the hot path.
 */
export interface Protocol {
  readonly name: string
  decode(frame: string): Inbound | null
  encode(message: Outbound): string
  /** The GET URL of one poll. */
  pollUrl(base: string, query: PollQuery): string
  decodePoll(body: string): Decoded<PollResult>
  /** The body of the POST that carries client messages while polling. */
  encodePost(session: string, messages: readonly Outbound[]): string
}
