/**
 * A fault-injecting TCP proxy for end-to-end tests: clients connect to the proxy's port, and each
 * accepted connection (a `Link`) is forwarded to the target server over a connection of its own.
 * A test then breaks links the way networks do:
 *
 * - `reset()`: both sides destroyed at once, with a TCP RST when `hard` (the client sees 1006, as
 *   after a lost network);
 * - `stall()`: a half-open link: no byte crosses in either direction while both sockets stay open,
 *   until the client gives up on the link itself (its heartbeat: a close frame arrives from it);
 * - `latency(ms)`: every byte is held `ms` before it is forwarded, in both directions, in order;
 * - `dropNextEvent()`: the next live `event` frame from the server is never delivered, so the
 *   client sees a seq gap and has to ask for a replay.
 *
 * The proxy reads the WebSocket framing on both directions once the upgrade is through (see
 * frames.ts): server frames to find `welcome` and `event` messages, client frames to see the
 * client's own close frame. Only whole data frames carrying `"type":"event"` are ever dropped; the
 * handshake, control frames and every other message cross unchanged.
 */
import { createServer, type Server, type Socket, connect } from 'node:net'
import { FrameReader, headEnd, Opcode, type Frame } from './frames.js'

export type LinkStage =
  /** TCP accepted, the HTTP upgrade is under way. */
  | 'upgrading'
  /** The server answered 101: WebSocket frames from here on, no `welcome` yet. */
  | 'open'
  /** The server's `welcome` went through to the client. */
  | 'live'

/** Where a link can be cut before it is live (see `FaultProxy.resetNext`). */
export type EarlyCut =
  /** as soon as the TCP connection is accepted, before the upgrade request reaches the server */
  | 'accept'
  /** when the client's first frame (`hello`) arrives, instead of forwarding it */
  | 'hello'
  /** right after the `welcome` went through, in the middle of a resume's replay */
  | 'welcome'

/** How a stall ended. */
export interface StallOutcome {
  /** The close code the client sent when it gave up on the link; undefined if it never did. */
  code: number | undefined
  /** How long the link was stalled, ms. */
  ms: number
}

type Direction = 'up' | 'down'

/** One client connection and its connection to the server. */
export class Link {
  readonly id: number
  stage: LinkStage = 'upgrading'
  /** The `seq` of the `welcome` that went through (the head when the session was opened or resumed). */
  welcomeSeq: number | undefined
  /** The highest event seq forwarded to the client so far. */
  maxSeq = 0
  closed = false
  /** Set while a fault is applied to this link (the scheduler applies one fault per link at a time). */
  busy = false
  /** The early cut this link was made for went off (see `FaultProxy.resetNext`). */
  cut = false

  readonly #client: Socket
  readonly #server: Socket
  #stalled = false
  #onClientClose: ((code: number | undefined) => void) | undefined
  #delay = 0
  readonly #queues: Record<Direction, { at: number; data: Buffer }[]> = { up: [], down: [] }
  readonly #timers: Record<Direction, ReturnType<typeof setTimeout> | undefined> = { up: undefined, down: undefined }
  /** A drop is armed: the next eligible event frame is swallowed. */
  #dropArmed: ((seq: number | undefined) => void) | undefined
  /** Dropped seqs not settled yet: neither resent (in the replay the client asks for) nor declared lost (`replay_failed`). */
  readonly #outstanding = new Set<number>()
  #cutAt: EarlyCut | undefined
  readonly #onGone: (link: Link) => void
  // upgrade parsing, per direction
  #head: Record<Direction, Buffer | undefined> = { up: Buffer.alloc(0), down: Buffer.alloc(0) }
  /** The server answered the upgrade with something other than 101: its bytes are passed on as they come. */
  #raw = false
  readonly #frames: Record<Direction, FrameReader> = { up: new FrameReader(), down: new FrameReader() }

  constructor(id: number, client: Socket, server: Socket, cutAt: EarlyCut | undefined, onGone: (link: Link) => void) {
    this.id = id
    this.#client = client
    this.#server = server
    this.#cutAt = cutAt
    this.#onGone = onGone
    client.setNoDelay(true)
    server.setNoDelay(true)
    client.on('data', (chunk: Buffer) => this.#received('up', chunk))
    server.on('data', (chunk: Buffer) => this.#received('down', chunk))
    for (const s of [client, server]) {
      s.on('error', () => this.reset())
      s.on('close', () => this.reset())
    }
    if (cutAt === 'accept') queueMicrotask(() => this.#cut())
  }

  /**
   * Destroy both sides at once (idempotent). `hard`: with a TCP RST, so bytes still in flight are
   * lost too, as when a middlebox drops the connection; otherwise a FIN after what was written.
   */
  reset(hard = false): void {
    if (this.closed) return
    this.closed = true
    for (const d of ['up', 'down'] as const) clearTimeout(this.#timers[d])
    for (const socket of [this.#client, this.#server]) {
      if (hard && !socket.destroyed && !socket.connecting) socket.resetAndDestroy()
      else socket.destroy()
    }
    this.#dropArmed?.(undefined)
    this.#dropArmed = undefined
    this.#onClientClose?.(undefined)
    this.#onGone(this)
  }

  /**
   * Stop forwarding in both directions (bytes that arrive meanwhile are lost, as on a dead route)
   * until the client gives up on the link, then tear the abandoned link down. Resolves with the
   * close code the client sent, or with none when the link went away otherwise or `cap` ms passed.
   */
  stall(cap: number): Promise<StallOutcome> {
    const started = performance.now()
    this.#stalled = true
    for (const d of ['up', 'down'] as const) {
      clearTimeout(this.#timers[d])
      this.#queues[d].length = 0
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.reset(), cap)
      this.#onClientClose = (code) => {
        clearTimeout(timer)
        this.#onClientClose = undefined
        resolve({ code, ms: performance.now() - started })
        this.reset()
      }
    })
  }

  /** Hold every byte `ms` before forwarding it, in both directions (0: forward at once again). */
  latency(ms: number): void {
    this.#delay = ms
  }

  /**
   * Swallow the next `event` frame that is live news for the client: a seq above both the
   * `welcome`'s and every seq forwarded so far. Never a frame of a replay: the client asks for a
   * hole once, and over one TCP connection a replay cannot lose frames (it comes after every
   * live frame it covers, and fills every hole up to the head it was read at). Resolves with the
   * dropped seq, or undefined when the link went away first.
   */
  dropNextEvent(): Promise<number | undefined> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(undefined)
      this.#dropArmed = resolve
    })
  }

  // ---- forwarding ----

  #received(direction: Direction, chunk: Buffer): void {
    if (this.closed) return
    const head = this.#head[direction]
    if (head !== undefined) {
      // the HTTP head of the upgrade: forwarded as is; frames follow only once it is complete
      const all = head.length === 0 ? chunk : Buffer.concat([head, chunk])
      const end = headEnd(all)
      if (end < 0) {
        this.#head[direction] = all
        return this.#forward(direction, chunk)
      }
      this.#head[direction] = undefined
      const upgraded = all.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101'
      if (direction === 'down' && upgraded && this.stage === 'upgrading') this.stage = 'open'
      // the part of `chunk` that belongs to the head, then whatever frames came in the same chunk
      const inChunk = chunk.length - (all.length - end)
      this.#forward(direction, chunk.subarray(0, inChunk))
      if (direction === 'down' && !upgraded) {
        // not a WebSocket (a 503, say): the rest is an HTTP body, forwarded as it comes
        this.#raw = true
        return this.#forward(direction, chunk.subarray(inChunk))
      }
      chunk = chunk.subarray(inChunk)
      if (chunk.length === 0) return
    }
    if (this.#raw && direction === 'down') return this.#forward(direction, chunk)
    const frames = this.#frames[direction].push(chunk)
    if (direction === 'up') return this.#fromClient(frames)
    this.#fromServer(frames)
  }

  #fromClient(frames: Frame[]): void {
    const out: Buffer[] = []
    for (const f of frames) {
      if (f.opcode === Opcode.close) this.#onClientClose?.(f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined)
      if (this.closed) return
      if (this.#cutAt === 'hello' && f.opcode === Opcode.text) return this.#cut()
      out.push(f.raw)
    }
    if (out.length > 0) this.#forward('up', out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out))
  }

  #fromServer(frames: Frame[]): void {
    const out: Buffer[] = []
    let cutAfter = false
    for (const f of frames) {
      if (f.fin && f.opcode === Opcode.text && f.payload[0] === 0x7b /* { */) {
        const message = JSON.parse(f.payload.toString('utf8')) as { type?: unknown; seq?: unknown; after?: unknown }
        if (message.type === 'welcome' && typeof message.seq === 'number') {
          this.welcomeSeq = message.seq
          this.maxSeq = Math.max(this.maxSeq, message.seq)
          this.stage = 'live'
          if (this.#cutAt === 'welcome') cutAfter = true
        } else if (message.type === 'event' && typeof message.seq === 'number') {
          const seq = message.seq
          this.#outstanding.delete(seq)
          if (this.#dropArmed && this.welcomeSeq !== undefined && seq > this.maxSeq) {
            const resolve = this.#dropArmed
            this.#dropArmed = undefined
            this.#outstanding.add(seq)
            this.maxSeq = seq
            resolve(seq)
            continue
          }
          if (seq > this.maxSeq) this.maxSeq = seq
        } else if (message.type === 'replay_failed' && typeof message.seq === 'number' && typeof message.after === 'number') {
          // the server cannot resend these: the client gives them up, they are settled
          for (const s of this.#outstanding) if (s > message.after && s <= message.seq) this.#outstanding.delete(s)
        }
      }
      out.push(f.raw)
    }
    if (out.length > 0) this.#forward('down', out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out))
    if (cutAfter) this.#cut()
  }

  /** How many dropped seqs are not settled yet (neither resent nor declared lost by the server). */
  get outstanding(): number {
    return this.#outstanding.size
  }

  #cut(): void {
    if (this.closed) return
    this.cut = true
    this.reset()
  }

  /** Write `data` on towards its destination: at once, after the added latency, or never (stalled). */
  #forward(direction: Direction, data: Buffer): void {
    if (this.closed || data.length === 0 || this.#stalled) return
    const to = direction === 'up' ? this.#server : this.#client
    const queue = this.#queues[direction]
    if (this.#delay === 0 && queue.length === 0) {
      to.write(data)
      return
    }
    // in order: never before what is already waiting
    const last = queue[queue.length - 1]
    queue.push({ at: Math.max(performance.now() + this.#delay, last?.at ?? 0), data })
    if (this.#timers[direction] === undefined) this.#flushLater(direction)
  }

  #flushLater(direction: Direction): void {
    const queue = this.#queues[direction]
    const first = queue[0]
    if (!first) {
      this.#timers[direction] = undefined
      return
    }
    this.#timers[direction] = setTimeout(
      () => {
        if (this.closed || this.#stalled) return
        const to = direction === 'up' ? this.#server : this.#client
        const now = performance.now()
        while (queue.length > 0 && (queue[0] as { at: number }).at <= now + 1) to.write((queue.shift() as { data: Buffer }).data)
        this.#flushLater(direction)
      },
      Math.max(0, first.at - performance.now()),
    )
  }
}

/** The proxy: a TCP server on 127.0.0.1 forwarding every connection to `target`. */
export class FaultProxy {
  readonly links = new Set<Link>()
  /** Every link ever accepted. */
  accepted = 0
  #ids = 0
  #cutNext: { at: EarlyCut; done: (happened: boolean) => void } | undefined

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Start a proxy on 127.0.0.1 and a free port, forwarding to `target`. */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined
    const server = createServer((client) => proxy?.accept(client, target))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('proxy: no port')
    proxy = new FaultProxy(server, address.port)
    return proxy
  }

  /** `url` (of the target) with the proxy's host and port in its place. */
  via(url: string): string {
    const u = new URL(url)
    u.hostname = '127.0.0.1'
    u.port = String(this.port)
    return u.toString()
  }

  /** Links whose `welcome` went through and that are still up. */
  live(): Link[] {
    return [...this.links].filter((l) => l.stage === 'live' && !l.closed)
  }

  /**
   * Cut the next link accepted, at `at`. Resolves once that link is gone: true when the cut went
   * off, false when the link went away before reaching `at`, or when `disarm()` came first.
   */
  resetNext(at: EarlyCut): Promise<boolean> {
    this.#cutNext?.done(false)
    return new Promise((resolve) => {
      this.#cutNext = { at, done: resolve }
    })
  }

  /** Call off a `resetNext` that no link has taken yet. */
  disarm(): void {
    this.#cutNext?.done(false)
    this.#cutNext = undefined
  }

  /** Destroy every link and stop listening. */
  async close(): Promise<void> {
    for (const link of [...this.links]) link.reset()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: Socket, target: { host?: string; port: number }): void {
    const cut = this.#cutNext
    this.#cutNext = undefined
    this.accepted++
    const server = connect({ host: target.host ?? '127.0.0.1', port: target.port })
    const link = new Link(++this.#ids, client, server, cut?.at, (gone) => {
      this.links.delete(gone)
      cut?.done(gone.cut)
    })
    this.links.add(link)
  }
}
