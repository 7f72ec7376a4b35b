/**
 * The two connections of a Redis store: one for commands and scripts, one subscribed to the
 * store's channel. node-redis (the `redis` package, loaded here on first use only) reconnects
 * both by itself. While a connection is down its commands fail at once instead of queueing (a
 * request waiting on Redis would hold its client for nothing), an outage is reported once per
 * connection, not once per retry, and the store hears when the channel drops and comes back: pub/sub
 * messages sent meanwhile are lost, so what it learnt from them must be read again.
 */
import { createHash } from 'node:crypto'
import { StoreUnavailableError } from './store.js'

/** What the link tells its store. */
export interface LinkEvents {
  /** A message on the channel. */
  message(text: string): void
  /** The channel dropped: messages may be lost until `up`. */
  down(): void
  /** The channel is subscribed again after a drop. */
  up(): void
  error(error: unknown, context: string): void
}

/** A Lua script, run by its SHA1 (sent whole only when Redis does not have it yet). */
export interface Script {
  source: string
  sha: string
}

export const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') })

/** The part of a node-redis client this link uses. */
interface Client {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  close(): Promise<void>
  destroy(): void
  duplicate(): Client
  sendCommand<T>(args: readonly string[]): Promise<T>
  subscribe(channel: string, listener: (message: string) => void): Promise<void>
  on(event: string, listener: (error: unknown) => void): unknown
}

/** Commands waiting for a reply, at most; past it, a command fails at once (Redis is far behind). */
const MAX_PENDING = 20_000

/** Wait between reconnection attempts, ms: quick at first, then every second. */
const reconnectDelay = (retries: number): number => Math.min(50 * 2 ** retries, 1000)

export class RedisLink {
  /** Resolves once both connections are up and the channel is subscribed; rejects if closed first. */
  readonly ready: Promise<void>
  private commands: Client | undefined
  private subscriber: Client | undefined
  private closed = false
  /** The channel has been subscribed once: later `ready`s of the subscriber are reconnections. */
  private subscribed = false
  /** Connections whose outage was reported and has not ended yet. */
  private readonly failing = new Set<'commands' | 'pub/sub'>()
  /** Scripts loaded on the commands connection since it last connected. */
  private readonly loaded = new Set<string>()

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly events: LinkEvents,
  ) {
    this.ready = this.connect()
    this.ready.catch(() => {}) // seen by whoever awaits it
  }

  /** Whether commands can be sent now. */
  get up(): boolean {
    return this.commands?.isReady === true && !this.closed
  }

  /** Send one command; while Redis cannot be reached, it fails with a StoreUnavailableError. */
  async command<T>(args: readonly string[]): Promise<T> {
    const commands = this.commands
    if (!commands || !this.up) throw new StoreUnavailableError('redis store: Redis is not reachable')
    try {
      return await commands.sendCommand<T>(args)
    } catch (error) {
      // (the connection dropped while the command was under way)
      if (!this.up) throw new StoreUnavailableError('redis store: Redis is not reachable', { cause: error })
      throw error
    }
  }

  /**
   * Run a script by its SHA1. The first run of a script on a connection sends `SCRIPT LOAD` just
   * before it, on the same connection, so scripts run in the order they were asked for even when
   * Redis did not know one yet (a fresh or restarted Redis); re-sending a script only after a
   * NOSCRIPT answer would let a later script overtake it. NOSCRIPT is still handled, for a
   * `SCRIPT FLUSH` under a live connection.
   */
  async run<T>(s: Script, keys: readonly string[], args: readonly string[]): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args]
    if (!this.loaded.has(s.sha)) {
      this.loaded.add(s.sha)
      this.command(['SCRIPT', 'LOAD', s.source]).catch(() => this.loaded.delete(s.sha))
    }
    try {
      return await this.command<T>(['EVALSHA', s.sha, ...tail])
    } catch (error) {
      if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error
      return this.command<T>(['EVAL', s.source, ...tail])
    }
  }

  /**
   * Close both connections, letting commands already sent finish. Closed while still connecting,
   * it waits for the attempt under way to end (at most one reconnection delay), so that nothing of
   * the link is left running.
   */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all([this.commands, this.subscriber].map((c) => (c ? shut(c) : undefined)))
    await this.ready.catch(() => {})
  }

  private async connect(): Promise<void> {
    const redis = await import('redis')
    if (this.closed) throw new Error('redis store: closed before it connected')
    const options = { url: this.url, disableOfflineQueue: true, commandsQueueMaxLength: MAX_PENDING, socket: { reconnectStrategy: reconnectDelay } }
    const commands: Client = redis.createClient(options)
    const subscriber = commands.duplicate()
    this.commands = commands
    this.subscriber = subscriber
    this.watch(commands, 'commands')
    this.watch(subscriber, 'pub/sub')
    // A reconnection may reach a restarted Redis that knows no script.
    commands.on('reconnecting', () => this.loaded.clear())
    subscriber.on('reconnecting', () => {
      if (this.subscribed && !this.closed) this.events.down()
    })
    subscriber.on('ready', () => {
      if (this.subscribed && !this.closed) this.events.up()
    })
    await Promise.all([commands.connect(), subscriber.connect()])
    if (this.closed) throw new Error('redis store: closed before it connected')
    await subscriber.subscribe(this.channel, (message) => this.events.message(message))
    this.subscribed = true
  }

  /** Report the first error of an outage, and its end. */
  private watch(client: Client, name: 'commands' | 'pub/sub'): void {
    client.on('error', (error: unknown) => {
      if (this.closed || this.failing.has(name)) return
      this.failing.add(name)
      this.events.error(error, `redis store: the ${name} connection failed; retrying`)
    })
    client.on('ready', () => {
      this.failing.delete(name)
    })
  }
}

/** Close a client: gracefully when connected, at once when it is still trying to. */
async function shut(client: Client): Promise<void> {
  try {
    if (client.isReady) await client.close()
    else if (client.isOpen) client.destroy()
  } catch {
    // already closed
  }
}
