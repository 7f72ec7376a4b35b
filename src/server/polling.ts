/**
 * The HTTP polling endpoint (PROTOCOL.md, "HTTP polling fallback"), over the same sessions as the
 * WebSocket endpoint, so a client moves between the two without losing or repeating an event.
 *
 * - `GET ?session&after&events&wait` answers `{session, resumed, seq, events}` with every event of
 *   the session after `after`. With `wait` and nothing to send yet, the request is held (at most
 *   `longPollMax`) until the session gets an event. `seq` is the session's last issued seq.
 *   `resumed: false` is a new session, or a known one whose buffer no longer covers `after`
 *   (a fresh start in the same session: `events` is then empty and `seq` is where it goes on).
 * - `POST {session, messages}` carries subscribe/unsubscribe/ack/refresh: 204, or 404 for an
 *   unknown session.
 * - Both hand `authenticate` the token of an `Authorization: Bearer` header, if any. Messages of other types are ignored; patterns the session cannot take are
 *   left out (there is no channel to report them on).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pollPost } from '../protocol/v1-schema.js'
import { isGone, readBody, RETRY_AFTER_SECONDS, sendEmpty, sendError, sendJson } from './http.js'
import type { Hub } from './hub.js'
import type { Entry } from './replay-buffer.js'
import type { Missed, Session, Sink } from './session.js'
import { reportFailure } from './store.js'
import { encodeEvent, isUnknownType } from './wire.js'

const noReport = (): void => {}

/** How long `close()` waits for held polls whose answers are still being read, ms. */
const CLOSE_GRACE = 1000

/**
 * The token of an `Authorization: Bearer` header: how a client with `auth` sends its token while
 * polling (over a socket it travels in `hello` and `auth`). Undefined without one.
 */
export const bearerToken = (req: IncomingMessage): string | undefined => /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1]

/** A non-negative safe integer from a query parameter; NaN when malformed. */
function parseCount(raw: string): number {
  return /^\d{1,16}$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : Number.NaN
}

/**
 * The body of a poll answer and how many events it carries. Event frames are the same strings the
 * WebSocket sends; events that would take the body past `maxBytes` are left for the next poll.
 */
function pollBody(session: Session<object>, resumed: boolean, events: readonly Entry[], maxBytes: number): { body: string; count: number } {
  const head = `{"session":${JSON.stringify(session.id)},"resumed":${resumed},"seq":${session.seq},"events":[`
  let size = Buffer.byteLength(head) + 2
  const frames: string[] = []
  for (const e of events) {
    const frame = encodeEvent(e.seq, e.item)
    size += Buffer.byteLength(frame) + 1
    if (size > maxBytes && frames.length > 0) break
    frames.push(frame)
  }
  return { body: `${head}${frames.join(',')}]}`, count: frames.length }
}

/** A poll GET held open until its session has something to send, it times out, or it is replaced. */
class HeldPoll<P extends object> implements Sink {
  private readonly timer: ReturnType<typeof setTimeout>
  private done = false
  /** The answer's events are being read from a shared store. */
  private reading = false
  /** Resolves once the poll is answered or cut. */
  readonly finished: Promise<void>
  private settle: () => void = () => {}

  /** `onDone` runs once: with the number of events answered, or undefined when the request was cut. */
  constructor(
    private readonly session: Session<P>,
    private readonly after: number,
    private readonly res: ServerResponse,
    private readonly maxBytes: number,
    wait: number,
    private readonly onDone: (poll: HeldPoll<P>, events: number | undefined) => void,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    this.finished = new Promise((resolve) => {
      this.settle = resolve
    })
    this.timer = setTimeout(() => this.answer(), wait)
    res.on('close', () => this.finish(undefined)) // the client went away first
  }

  /** Answer after the current task, so events published together travel in one answer. */
  deliver(): void {
    if (!this.done) queueMicrotask(() => this.answer())
  }

  /** Replaced by a newer poll of the same session: answer now. Forgotten (a restart): cut it. */
  detach(reason: 'replaced' | 'forgotten'): void {
    if (reason === 'forgotten') this.destroy()
    else this.answer()
  }

  /** Answer with whatever the session has after `after` now (possibly nothing). */
  answer(headers: Record<string, string> = {}): void {
    if (this.done || this.reading) return
    const missed = this.session.since(this.after)
    if (!(missed instanceof Promise)) return this.write(missed, headers)
    this.reading = true
    missed.then(
      (entries) => this.write(entries, headers),
      (error) => {
        reportFailure(this.onError, error, 'reading a poll answer failed')
        this.finish(undefined)
        sendError(this.res, 500, 'internal error')
      },
    )
  }

  private write(missed: Missed, headers: Record<string, string>): void {
    if (this.done) return
    // Events evicted while held (a burst larger than the buffer): a fresh start.
    const { body, count } = pollBody(this.session, missed !== undefined, missed ?? [], this.maxBytes)
    this.finish(count)
    sendJson(this.res, 200, body, headers)
  }

  /** Cut the request (test hook: a lost network). */
  destroy(): void {
    this.finish(undefined)
    this.res.destroy()
  }

  private finish(events: number | undefined): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    this.session.release(this)
    this.onDone(this, events)
    this.settle()
  }
}

export class PollEndpoint<P extends object> {
  private readonly held = new Set<HeldPoll<P>>()

  constructor(private readonly hub: Hub<P>) {}

  get heldCount(): number {
    return this.held.size
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') void this.get(req, res).catch((error) => this.internal(res, error))
    else if (req.method === 'POST') void this.post(req, res).catch((error) => this.internal(res, error))
    else sendEmpty(res, 405, { allow: 'GET, POST' })
  }

  /**
   * Answer every held poll (the server is closing). With a shared store the answers are read
   * first: this waits for them, at most `CLOSE_GRACE` ms.
   */
  async close(): Promise<void> {
    const held = [...this.held]
    for (const poll of held) poll.answer({ connection: 'close' })
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([Promise.all(held.map((p) => p.finished)), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE)))])
    clearTimeout(timer)
    this.held.clear()
  }

  /** Test hook: cut every held poll. */
  drop(): void {
    for (const poll of [...this.held]) poll.destroy()
  }

  private async get(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const s = this.hub.settings
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams
    const afterRaw = query.get('after')
    const after = afterRaw === null ? null : parseCount(afterRaw)
    const waitRaw = query.get('wait')
    const wait = waitRaw === null ? 0 : Math.min(parseCount(waitRaw), s.longPollMax)
    if (Number.isNaN(after) || Number.isNaN(wait)) return sendError(res, 400, '"after" and "wait" must be non-negative integers')
    const eventsRaw = query.get('events')
    const patterns = eventsRaw === null ? undefined : eventsRaw.split(',').filter((p) => p !== '')

    const auth = await this.hub.authenticate(req, bearerToken(req))
    if (isGone(res)) return
    if (!auth.ok) return auth.failed ? sendError(res, 500, 'authentication failed') : sendError(res, 401, 'unauthorized')
    const opened = await this.hub.open(query.get('session'), after, auth.principal)
    if (isGone(res)) return
    if (!opened) return sendError(res, 503, 'too many sessions', { 'retry-after': String(RETRY_AFTER_SECONDS) })
    const { session, missed } = opened
    if (patterns !== undefined) session.replacePatterns(patterns)
    session.touch()

    // A known session whose buffer no longer covers `after` starts afresh, in the same session.
    const resumed = opened.resumed && missed !== undefined
    if (opened.resumed && !resumed) this.hub.counters.add('replayFailures')
    const events = resumed ? missed : []
    if (!resumed || events.length > 0 || wait === 0 || after === null || this.hub.closed) {
      const { body, count } = pollBody(session, resumed, events, s.maxPollBytes)
      this.countAnswer(count)
      return sendJson(res, 200, body)
    }
    const poll = new HeldPoll(
      session,
      after,
      res,
      s.maxPollBytes,
      wait,
      (p, n) => {
        this.held.delete(p)
        if (n !== undefined) this.countAnswer(n)
      },
      s.onError,
    )
    this.held.add(poll)
    session.attachPoll(poll)
  }

  private async post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = await this.hub.authenticate(req, bearerToken(req))
    if (isGone(res)) return
    if (!auth.ok) return auth.failed ? sendError(res, 500, 'authentication failed') : sendError(res, 401, 'unauthorized')
    const body = await readBody(req, this.hub.settings.maxMessageBytes)
    if (!body.ok) {
      this.hub.counters.add('badRequests')
      return sendError(res, body.status, body.status === 413 ? 'body too large' : 'body unreadable', { connection: 'close' })
    }
    let value: unknown
    try {
      value = JSON.parse(body.text)
    } catch {
      value = undefined
    }
    // Messages of types this version does not know are ignored, as over a socket.
    if (typeof value === 'object' && value !== null && Array.isArray((value as { messages?: unknown }).messages)) {
      const v = value as { messages: unknown[] }
      value = { ...v, messages: v.messages.filter((m) => !isUnknownType(m)) }
    }
    const parsed = pollPost.safeParse(value)
    if (!parsed.success) {
      this.hub.counters.add('badRequests')
      return sendError(res, 400, 'expected {"session": string, "messages": [client messages]}')
    }
    const session = await this.hub.get(parsed.data.session)
    if (!session) return sendError(res, 404, 'unknown session')
    if (auth.principal !== undefined) session.setPrincipal(auth.principal)
    for (const message of parsed.data.messages) this.hub.apply(session, message, noReport)
    this.hub.counters.add('posts')
    sendEmpty(res, 204)
  }

  private countAnswer(events: number): void {
    this.hub.counters.add('polls')
    this.hub.counters.add('messagesSent', events)
  }

  private internal(res: ServerResponse, error: unknown): void {
    reportFailure(this.hub.settings.onError, error, 'poll request failed')
    sendError(res, 500, 'internal error')
  }
}
