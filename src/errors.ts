/**
 * Every problem the client reports reaches the app as a `RealtimeError` through the `error` event;
 * nothing is thrown into application code. Tell errors apart by `code`, never by message text.
 */
export type RealtimeErrorCode =
  /** A frame that is not JSON, not an object, too large, binary, or has fields of the wrong type. */
  | 'invalid_message'
  /** An event's `data` failed the schema given for it in `events`; `event` and `seq` say which. */
  | 'schema'
  /** The server refused the credentials (close 4001, HTTP 401/403) three times in a row: the client stopped. */
  | 'unauthorized'
  /**
   * `auth.getToken` threw, rejected, or gave no `{ token: string }`. The client tries again on the
   * backoff schedule: before a socket attempt it counts as a failed attempt; on a live socket the
   * link stays up; while polling the request waits for the next backoff step.
   */
  | 'auth'
  /** The server sent an `error` message; `serverCode` carries its code. */
  | 'server'
  /** The server closed with 4400: it found something the client sent invalid. */
  | 'protocol'
  /**
   * A socket could not be created, an HTTP poll failed, the `url` function threw, or no transport
   * is available. (A socket that closes is not an error: `status` tells it.)
   */
  | 'transport'
  /** An app listener threw; the error is in `cause` and delivery went on. */
  | 'listener'
  /** A bounded buffer (poll outbox, pending acks) was full and something was dropped (the message says what). */
  | 'overflow'
  /**
   * An invalid subscription pattern; or an insecure `url` or `pollUrl` on a page served over https
   * without `allowInsecure`, and the client stopped. (Invalid numeric options fall back to their defaults.)
   */
  | 'config'

export interface RealtimeErrorDetails {
  cause?: unknown
  event?: string
  seq?: number
  serverCode?: string
}

export class RealtimeError extends Error {
  override readonly name = 'RealtimeError' as const
  readonly code: RealtimeErrorCode
  readonly event: string | undefined
  readonly seq: number | undefined
  readonly serverCode: string | undefined

  constructor(code: RealtimeErrorCode, message: string, details: RealtimeErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.event = details.event
    this.seq = details.seq
    this.serverCode = details.serverCode
  }
}

/** True for a `RealtimeError`, also one from another realm or another copy of the package. */
export const isRealtimeError = (error: unknown): error is RealtimeError =>
  error instanceof Error && error.name === 'RealtimeError' && typeof (error as { code?: unknown }).code === 'string'
