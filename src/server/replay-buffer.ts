/**
 * A session's replay buffer: the last `capacity` events it was given, oldest first, also bounded
 * in age. A fixed-size ring: pushing into a full buffer overwrites the oldest entry, so memory per
 * session never grows past `capacity` entries. Entries share the published item, not a copy.
 */
import type { Published } from './wire.js'

export interface Entry {
  seq: number
  item: Published
}

export class ReplayBuffer {
  private readonly ring: (Entry | undefined)[]
  /** Index of the oldest entry. */
  private start = 0
  private size = 0

  constructor(
    private readonly capacity: number,
    private readonly maxAge: number,
  ) {
    this.ring = new Array<Entry | undefined>(capacity)
  }

  get length(): number {
    return this.size
  }

  /** Add the newest entry (seqs must increase by one), evicting the oldest when full. */
  push(entry: Entry): void {
    if (this.size === this.capacity) {
      this.ring[this.start] = entry
      this.start = (this.start + 1) % this.capacity
    } else {
      this.ring[(this.start + this.size) % this.capacity] = entry
      this.size++
    }
  }

  /**
   * Every entry with seq > `after`, oldest first; `undefined` when the buffer no longer holds all
   * of them (evicted, or older than `maxAge`). `head` is the session's last issued seq.
   */
  since(after: number, head: number, now = Date.now()): Entry[] | undefined {
    this.expire(now)
    if (after >= head) return []
    const oldest = this.at(0)
    if (!oldest || oldest.seq > after + 1) return undefined
    const out: Entry[] = []
    for (let i = after + 1 - oldest.seq; i < this.size; i++) out.push(this.at(i) as Entry)
    return out
  }

  /** The buffered entry with this seq, if still held. */
  find(seq: number): Entry | undefined {
    const oldest = this.at(0)
    return oldest ? this.at(seq - oldest.seq) : undefined
  }

  clear(): void {
    this.ring.fill(undefined)
    this.start = this.size = 0
  }

  /** Drop entries older than `maxAge`. */
  private expire(now: number): void {
    let oldest: Entry | undefined
    while ((oldest = this.at(0)) && now - oldest.item.ts > this.maxAge) {
      this.ring[this.start] = undefined
      this.start = (this.start + 1) % this.capacity
      this.size--
    }
  }

  private at(i: number): Entry | undefined {
    return i >= 0 && i < this.size ? this.ring[(this.start + i) % this.capacity] : undefined
  }
}
