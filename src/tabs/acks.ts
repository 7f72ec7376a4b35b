/**
 * Acks through the leader (`shareAcrossTabs`). The leader's link is made with `ackByCaller`: it
 * relays events and acks none on delivery. A tab that delivers an event asking for an ack (or gets
 * one again that it had delivered: the ack may have gone to a leader that is gone) tells the
 * leader, and the leader acks each event it relayed once, at the first tab's word. An event that
 * no tab's patterns match (a tab left while it was on its way) is acked by the leader as it
 * relays it: no tab will, and the server is not left waiting.
 *
 * Each relayed event carries the leader's watermark (`done`): every ack-event up to it has had
 * its ack. A tab keeps the acks it sent above the watermark and gives them to the next leader,
 * since the last one may have died before sending them. The new leader sends each such ack for an
 * event an earlier leader relayed (up to the seq it resumed after, on the same session) once; acks
 * above it are for events it replays, which the tabs ack again. One that comes while this leader
 * gathers the positions waits for its link. Everything is bounded: a relayed event that no tab
 * acks (its only tab closed or crashed first) is forgotten with the oldest.
 */
import type { Connection } from '../connection.js'

/** Relayed events waiting for their first ack, and acks waiting for the link or sent for an earlier leader, at most. */
export const MAX_AWAITING = 1000

type AckLink = Pick<Connection, 'ack' | 'session'>

export class LeaderAcks {
  #link: AckLink | undefined
  /** The session of the seqs in `#awaiting`. */
  #session: string | null = null
  readonly #awaiting = new Set<number>()
  /** The session this leadership resumed, the seq it resumed after, and the acks sent for seqs up to it. */
  #resumed: string | null = null
  #upTo = 0
  readonly #before = new Set<number>()
  #early: [string | null, number][] = []

  /** The link exists, resuming `session` after `last`: acks that came before it go out now (or are dropped). */
  start(link: AckLink, session: string | null, last: number | null): void {
    this.#link = link
    this.#resumed = session
    this.#upTo = last ?? 0
    for (const [s, seq] of this.#early.splice(0)) this.ack(s, seq)
  }

  /** The leader relays event `seq`, which asks for an ack; `wanted`: some tab's patterns match it. */
  relayed(seq: number, wanted: boolean): void {
    const link = this.#link
    if (!link) return
    if (!wanted) return link.ack(seq)
    if (link.session !== this.#session) {
      this.#awaiting.clear()
      this.#session = link.session
    }
    // a Set iterates in insertion order: the first is the oldest
    if (this.#awaiting.size >= MAX_AWAITING) this.#awaiting.delete(this.#awaiting.values().next().value as number)
    this.#awaiting.add(seq)
  }

  /** The watermark as event `seq` is relayed: every ack-event up to it has had its ack. */
  done(seq: number): number {
    const oldest = this.#link?.session === this.#session ? this.#awaiting.values().next().value : undefined
    return oldest === undefined ? seq : oldest - 1
  }

  /** A tab acks event `seq` of session `s`. */
  ack(s: string | null, seq: number): void {
    const link = this.#link
    if (!link) {
      if (this.#early.length < MAX_AWAITING) this.#early.push([s, seq])
      return
    }
    if (s === null || s !== link.session) return
    if (s === this.#session && this.#awaiting.delete(seq)) return link.ack(seq)
    if (s !== this.#resumed || seq > this.#upTo || this.#before.has(seq) || this.#before.size >= MAX_AWAITING) return
    this.#before.add(seq)
    link.ack(seq)
  }
}
