/**
 * Refetch on notice: a server that only says "something changed" (`changed`) is answered with a
 * fetch of its state (one poll request), at most one started per `interval`. A notice that comes
 * while a fetch is under way, or within the interval, asks for exactly one more fetch after it: a
 * burst of notices costs two requests, and the state is always fetched after the last notice.
 */
export class Refetcher {
  #timer: ReturnType<typeof setTimeout> | undefined
  /** A notice came during the fetch or the pause: fetch once more after them. */
  #wanted = false
  #busy = false
  #lastStart = -Infinity
  /** Bumped by `stop()`: a fetch that ends after it does not go on. */
  #gen = 0

  constructor(
    readonly interval: number,
    readonly fetchState: () => Promise<void>,
  ) {}

  /** The server said its state changed. */
  changed(): void {
    if (this.#busy || this.#timer !== undefined) {
      this.#wanted = true
      return
    }
    const wait = this.#lastStart + this.interval - Date.now()
    if (wait > 0) this.#timer = setTimeout(() => void this.#run(), wait)
    else void this.#run()
  }

  /** Cancel the pause, and forget the fetch under way (its owner aborts it). */
  stop(): void {
    this.#gen++
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#busy = this.#wanted = false
  }

  async #run(): Promise<void> {
    const gen = this.#gen
    this.#timer = undefined
    this.#wanted = false
    this.#busy = true
    this.#lastStart = Date.now()
    await this.fetchState()
    if (gen !== this.#gen) return
    this.#busy = false
    if (this.#wanted) this.changed()
  }
}
