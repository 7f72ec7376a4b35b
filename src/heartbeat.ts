/**
 * Heartbeat: a `ping` every `interval`; if no frame at all arrives within `timeout` of a ping (the
 * first unanswered one: a watchdog runs from there), the link is dead (half-open: the socket looks open but nothing flows) and `dead` is called.
 * `probe()` (page visible again, network back) also judges liveness by wall-clock time, so a tab
 * whose timers were frozen finds a dead link as soon as it runs again instead of one more interval later.
 *
 * Against a server that has no ping (`silent`), the heartbeat only listens: no frame at all for
 * `interval + timeout` means a dead link (the server's own traffic or keep-alives must come more
 * often than that).
 */
export interface HeartbeatHooks {
  ping(id: number): void
  dead(): void
  rtt(ms: number): void
}

export class Heartbeat {
  #tick: ReturnType<typeof setTimeout> | undefined
  #watchdog: ReturnType<typeof setTimeout> | undefined
  #lastSeen = 0
  /** A frame arrived since the watchdog started. */
  #heard = false
  #id = 0
  #sent = new Map<number, number>()
  #interval = 0
  #timeout = 0
  #silent = false

  readonly #hooks: HeartbeatHooks

  constructor(hooks: HeartbeatHooks) {
    this.#hooks = hooks
  }

  /** Start (or restart) pinging; `silent`: listen only (see above). */
  start(interval: number, timeout: number, silent = false): void {
    this.stop()
    this.#interval = interval
    this.#timeout = timeout
    this.#silent = silent
    this.#lastSeen = Date.now()
    if (silent) this.#listen(interval + timeout)
    else this.#schedule()
  }

  /** Any inbound frame: the link is alive. Called for every frame, so it only takes notes. */
  seen(): void {
    if (this.#tick === undefined) return // not running: nothing reads the notes
    this.#lastSeen = Date.now()
    this.#heard = true
  }

  /** A `pong` arrived: report the round trip if it answers one of ours. */
  pong(id: unknown): void {
    const at = typeof id === 'number' ? this.#sent.get(id) : undefined
    if (at !== undefined) this.#hooks.rtt(Date.now() - at)
    this.#sent.clear()
  }

  /** Check the link now (page became visible, network came back): ping and watch for an answer. */
  probe(): void {
    if (this.#tick === undefined) return
    if (Date.now() - this.#lastSeen > this.#interval + this.#timeout) {
      this.stop()
      return this.#hooks.dead()
    }
    if (!this.#silent) this.#ping()
  }

  stop(): void {
    clearTimeout(this.#tick)
    clearTimeout(this.#watchdog)
    this.#tick = this.#watchdog = undefined
    this.#sent.clear()
  }

  /**
   * The regular tick only pings; its watchdog judges the answer. It does not judge by wall-clock
   * silence: a hidden tab's timers may be throttled to one run a minute, so the time since the last
   * frame then exceeds `interval + timeout` on every tick even on a healthy, idle link.
   */
  #schedule(): void {
    this.#tick = setTimeout(() => {
      this.#schedule()
      this.#ping()
    }, this.#interval)
  }

  /** Silent mode: wake when the link will have been quiet for `interval + timeout`, unless a frame came meanwhile. */
  #listen(ms: number): void {
    this.#tick = setTimeout(() => {
      const quiet = Date.now() - this.#lastSeen
      const limit = this.#interval + this.#timeout
      if (quiet < limit) return this.#listen(limit - quiet)
      this.stop()
      this.#hooks.dead()
    }, ms)
  }

  #ping(): void {
    const id = ++this.#id
    if (this.#sent.size < 8) this.#sent.set(id, Date.now())
    this.#hooks.ping(id)
    if (this.#watchdog !== undefined) return
    this.#heard = false
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined
      if (this.#heard) return
      this.stop()
      this.#hooks.dead()
    }, this.#timeout)
  }
}
