/**
 * The client's internal messages and the interface every wire-protocol adapter implements.
 * Nothing outside `src/protocol/` knows what a frame looks like on the wire: the connection only
 * speaks these shapes, and an adapter turns them into frames and back.
 */

/** An application event as the client sees it, whatever the wire carried. */
export interface InboundEvent {
  type: 'event'
  /**
   * The session's seq. A protocol without seq (`capabilities.seq: false`) leaves it out, and the
   * client numbers events in arrival order (1, 2, ... per connection): a count, not the server's.
   */
  seq: number
  event: string
  data: unknown
  ts?: number
  /** The server wants an `ack` once the event was delivered (only with `capabilities.seq`). */
  ack?: boolean
}

/** An event as a protocol decodes it: without seq when the protocol has none. */
export type WireEvent = Omit<InboundEvent, 'seq'> & { seq?: number }

export type Inbound =
  | { type: 'welcome'; session: string; resumed: boolean; seq: number; heartbeat?: number }
  | WireEvent
  /** The server says its state changed, without the data: the client fetches it over HTTP (`http.pollUrl`), at most once per `refetchInterval`. */
  | { type: 'changed' }
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

/**
 * What the client wants to say. `subscribe` / `unsubscribe` carry the patterns that changed
 * (`events`) and, for servers that want the whole set each time, every pattern now held (`all`).
 */
export type Outbound =
  | { type: 'hello'; session: string | null; after: number | null; events: string[]; token?: string | undefined }
  | { type: 'subscribe'; events: string[]; all: string[] }
  | { type: 'unsubscribe'; events: string[]; all: string[] }
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

/**
 * One poll's answer. `events` are already in the client's internal shape. `session`, `resumed` and
 * `seq` are read only with `capabilities.seq` (a protocol without seq leaves them out).
 */
export interface PollResult {
  session?: string
  resumed?: boolean
  seq?: number
  events: WireEvent[]
}

export interface PollQuery {
  session: string | null
  after: number | null
  events: readonly string[]
  /** Long-poll wait in ms; 0 asks for an immediate answer. */
  wait: number
}

/**
 * What a server's wire allows; the client gives each guarantee only where the wire does, and says
 * so (`stats.sequenced`), never pretending.
 */
export interface Capabilities {
  /**
   * Events carry a per-session seq; the server resumes a session (`hello` with `session`/`after`)
   * and answers `replay`, and takes `ack`s. Then: gap detection, replay, exactly-once in order,
   * `resync`. Without: events are delivered in arrival order, and what was missed while the link
   * was down is lost without a word from the server (the client reports a `resync` of unknown
   * size on every reconnect, so the app refetches).
   */
  readonly seq: boolean
  /**
   * How a socket becomes `open`:
   * - `hello`: the client sends `hello`, the server answers `welcome` (within `connectTimeout`);
   * - `server`: the server speaks first, with a message the protocol decodes as `welcome`;
   * - `none`: as soon as the socket opens (the current patterns are then sent with `subscribe`).
   */
  readonly handshake: 'hello' | 'server' | 'none'
  /** The server answers `ping` with `pong`. Without, the heartbeat is a silence timeout: no frame for `interval + timeout` means a dead link. */
  readonly ping: boolean
  /**
   * The server sends only the events the client's patterns match. Without, the client filters
   * them itself (they still cross the wire); `subscribe` frames, if the protocol has them, only
   * narrow what the server sends.
   */
  readonly filter: boolean
}

/**
 * A wire protocol. `decode` must never throw: bad input is an `invalid` message with a message fit
 * for an `error` event, an unknown message type is `null` (ignored, for forward compatibility).
 * It returns the message itself, not a wrapper: it runs once per frame on the hot path.
 */
export interface Protocol {
  readonly name: string
  readonly capabilities: Capabilities
  decode(frame: string): Inbound | null
  /** The frame for `message`, or null when the server has no such message (nothing is sent). */
  encode(message: Outbound): string | null
  /**
   * The URL a socket opens, from the `url` option's value: a protocol whose server takes its
   * token or settings as query parameters adds them here. Without, the URL as given.
   */
  socketUrl?(url: string, context: { token: string | undefined }): string
  /** The HTTP side, for servers that have one (the polling fallback; refetches after `changed`). */
  readonly http?: HttpCodec
  /** Defaults this server calls for (e.g. its polling interval); the app's options override them. */
  readonly defaults?: ProtocolDefaults
}

export interface HttpCodec {
  /** The GET URL of one poll. */
  pollUrl(base: string, query: PollQuery): string
  decodePoll(body: string): Decoded<PollResult>
  /** The body of the POST that carries client messages while polling; without, nothing is posted. */
  encodePost?(session: string, messages: readonly Outbound[]): string
}

export interface ProtocolDefaults {
  heartbeat?: { interval?: number; timeout?: number }
  polling?: { interval?: number; wait?: number; upgradeInterval?: number }
  /** After a `changed` message, the soonest the next refetch may start, ms. @default 1000 */
  refetchInterval?: number
}
