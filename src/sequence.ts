/**
 * Session continuity: the session id, the last seq delivered, and a bounded reorder buffer.
 *
 * Events reach `deliver` in seq order, each exactly once. A duplicate is dropped. An event past a
 * hole is held while the hole is asked for again (`requestReplay`); when the hole cannot be filled
 * (`replay_failed`, a new session, the replay timeout, or a full buffer) the client gives it up,
 * reports it once through `resync` with the exact range, and goes on delivering what it holds.
 */
import type { InboundEvent } from './protocol/types.js'
import type { ResyncInfo, Stats } from './types.js'

export interface SequenceHooks {
  deliver(event: InboundEvent): void
  /** Ask the server again for every event after `after`. */
  requestReplay(after: number): void
  /** An event that was already delivered came again (the server may not have seen its ack). */
  duplicate(event: InboundEvent): void
  resync(info: ResyncInfo): void
}

export interface SequenceOptions {
  /** How long a hole may stay open before it is given up, ms. */
  timeout: number
  /** How many out-of-order events may be held; past that the oldest hole is given up. */
  maxBuffer: number
}

export class Sequencer {
  /** The session this client belongs to, null before the first `welcome`. */
  session: string | null = null
  /** The last seq delivered (or skipped), null before the first `welcome`. */
  last: number | null = null
  readonly #pending = new Map<number, InboundEvent>()
  /** The highest seq known to exist: seen in an event or announced by `welcome`. */
  #head = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  readonly #hooks: SequenceHooks
  readonly #options: SequenceOptions
  readonly #stats: Stats

  constructor(
    hooks: SequenceHooks,
    options: SequenceOptions,
    stats: Stats,
  ) {
    this.#hooks = hooks
    this.#options = options
    this.#stats = stats
  }

  /**
   * A session was (re)established, by `welcome` or by a poll answer. `expectReplay`: the server
   * will now resend what follows `last` by itself (WebSocket resume), so wait for it.
   */
  begin(session: string, resumed: boolean, seq: number, expectReplay: boolean): void {
    const known = this.session
    this.session = session
    if (known !== null && (!resumed || known !== session)) {
      this.stop()
      this.#pending.clear()
      const from = (this.last ?? 0) + 1
      this.#stats.resyncs++
      this.#hooks.resync({ reason: 'new_session', from, to: null, missed: null })
    }
    if (known === null || !resumed || known !== session || this.last === null) {
      this.last = seq
      this.#head = seq
      return
    }
    // Only a WebSocket resume announces events that will follow by themselves. A poll answer's
    // events come with it: they are ordinary deliveries, not replays, and must not count as such.
    if (expectReplay && seq > this.#head) this.#head = seq
    if (expectReplay && this.#head > this.last) this.#arm()
    else if (this.#pending.size > 0) this.#gap()
  }

  /** An event arrived. */
  push(event: InboundEvent): void {
    const last = this.last ?? event.seq - 1
    const { seq } = event
    if (seq <= last || this.#pending.has(seq)) {
      this.#stats.duplicates++
      if (seq <= last) this.#hooks.duplicate(event)
      return
    }
    // At or below the known head and not seen yet: it fills a hole (the head itself counts when
    // `welcome` announced it, since then no event has carried it yet).
    if (seq <= this.#head) this.#stats.replayed++
    else this.#head = seq
    if (seq === last + 1) {
      this.last = seq
      this.#hooks.deliver(event)
      this.#drain()
      return
    }
    this.last = last
    if (this.#pending.size >= this.#options.maxBuffer) this.#giveUp('buffer_full', this.#oldestHeld(seq) - 1)
    this.#pending.set(seq, event)
    this.#drain()
    this.#gap()
  }

  /** The server cannot replay: everything missing up to `head` is lost. */
  replayFailed(head: number): void {
    if (head > this.#head) this.#head = head
    this.#giveUp('replay_failed', head)
  }

  /** The transport was lost: holes stay held, the timer waits for the next session. */
  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Forget everything (the connection closed for good). */
  reset(): void {
    this.stop()
    this.#pending.clear()
    this.session = null
    this.last = null
    this.#head = 0
  }

  /**
   * The lowest of the held seqs and `incoming` (the event about to be held): the buffer is full, so
   * the hole below it is given up. Counting `incoming` keeps an event that lands inside the oldest
   * hole from being held below `last` for ever, and makes `maxBuffer: 0` give every hole up at once.
   */
  #oldestHeld(incoming: number): number {
    let oldest = incoming
    for (const s of this.#pending.keys()) if (s < oldest) oldest = s
    return oldest
  }

  /** Deliver what the held events make contiguous; close the hole timer once nothing is missing. */
  #drain(): void {
    let next: InboundEvent | undefined
    while (this.last !== null && (next = this.#pending.get(this.last + 1)) !== undefined) {
      this.#pending.delete(next.seq)
      this.last = next.seq
      this.#hooks.deliver(next)
    }
    if (this.#pending.size === 0 && this.last !== null && this.last >= this.#head) this.stop()
  }

  /** A hole is open: ask for it once and start the clock (a running clock means already asked). */
  #gap(): void {
    if (this.#timer !== undefined || this.#pending.size === 0 || this.last === null) return
    this.#stats.gaps++
    this.#hooks.requestReplay(this.last)
    this.#arm()
  }

  #arm(): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#giveUp('replay_timeout', this.#head)
      }, this.#options.timeout)
    }
  }

  /**
   * Give up every hole up to `upTo`: report the skipped seqs once, then deliver the held events
   * in order and go on.
   */
  #giveUp(reason: ResyncInfo['reason'], upTo: number): void {
    this.stop()
    if (this.last === null) return
    let last = this.last
    let from: number | null = null
    let to = 0
    let missed = 0
    const ready: InboundEvent[] = []
    const held = [...this.#pending.keys()].filter((s) => s <= upTo).sort((a, b) => a - b)
    for (const s of [...held, upTo + 1]) {
      if (s - 1 > last) {
        from ??= last + 1
        to = s - 1
        missed += s - 1 - last
      }
      last = Math.max(last, s - 1)
      const event = this.#pending.get(s)
      if (event && s <= upTo) {
        this.#pending.delete(s)
        ready.push(event)
        last = s
      }
    }
    this.last = last
    if (from !== null) {
      this.#stats.resyncs++
      this.#hooks.resync({ reason, from, to, missed })
    }
    for (const event of ready) this.#hooks.deliver(event)
    this.#drain()
    this.#gap()
  }
}
