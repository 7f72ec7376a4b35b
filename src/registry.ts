/**
 * Deduplication: handles with the same `url` (the same string, or the same function) and the same
 * `dedupeKey` share one connection. The connection leaves the registry when it closes, so the
 * next handle opens a fresh one. With `shareAcrossTabs` (and the browser features it needs), that
 * one link is a `TabLink`, shared with the other tabs as well.
 */
import { Connection, type ConnectionSink, newStats } from './connection.js'
import type { ConnectionConfig } from './options.js'
import type { Stats, Status, UrlSource } from './types.js'

/** What a handle uses of its link: a `Connection`, or a `TabLink` that shares one across tabs. */
export type Link = Pick<Connection, 'attach' | 'detach' | 'route' | 'subscribe' | 'unsubscribe' | 'refresh' | 'reconnect' | 'stats' | 'status' | 'closed'>

/** The shared links still in the registry, with their `url`, `dedupeKey` and whether they span tabs (a handful: a scan is enough). */
const shared = new Map<Link, [UrlSource, string, boolean]>()

/** The link a handle should attach to: a shared one, or a private one when `dedupe` is false. */
export function acquire(config: ConnectionConfig, dedupe: boolean, dedupeKey: string): Link {
  const tabs = dedupe && config.shareAcrossTabs === true && canShareAcrossTabs()
  if (dedupe) for (const [existing, [url, key, t]] of shared) if (url === config.url && key === dedupeKey && t === tabs && !existing.closed) return existing
  const onClosed = (): boolean => shared.delete(link)
  const link: Link = tabs ? new LazyTabLink(config, dedupeKey, onClosed) : new Connection(config, onClosed)
  if (dedupe) shared.set(link, [config.url, dedupeKey, tabs])
  return link
}

/** How many shared connections are open (for tests and diagnostics). */
export const sharedConnectionCount = (): number => shared.size

/** Whether this page can share a link across tabs (checked when a handle connects, never at import). */
export const canShareAcrossTabs = (): boolean =>
  typeof BroadcastChannel === 'function' && typeof (globalThis.navigator as Partial<Navigator> | undefined)?.locks?.request === 'function'

/**
 * A tab-shared link whose code loads when it is first needed: `src/tabs` is a chunk of its own,
 * which apps that never share across tabs do not download. Until it has loaded (a few ms), calls
 * wait in order (as many as the app makes in that time) and the handle is `connecting`, as with any
 * link that starts; if the chunk cannot load, the handle gets a private connection instead.
 */
class LazyTabLink implements Link {
  #link: Link | undefined
  #calls: ((link: Link) => void)[] = []
  #handles = 0
  #gone = false

  constructor(config: ConnectionConfig, dedupeKey: string, onClosed: () => void) {
    import('./tabs/link.js')
      .then(
        (tabs): Link => new tabs.TabLink(config, dedupeKey, onClosed),
        (): Link => new Connection(config, onClosed),
      )
      .then((link) => {
        if (this.#gone) return
        this.#link = link
        for (const call of this.#calls.splice(0)) call(link)
      })
  }

  get status(): Status {
    return this.#link?.status ?? (this.#gone ? 'closed' : 'connecting')
  }

  get stats(): Stats {
    return this.#link?.stats ?? newStats()
  }

  get closed(): boolean {
    return this.#link?.closed ?? this.#gone
  }

  attach(sink: ConnectionSink): void {
    this.#handles++
    if (!this.#link) sink('status', 'connecting')
    this.#do((link) => link.attach(sink))
  }

  detach(sink: ConnectionSink, patterns: Iterable<readonly string[]>, names: Iterable<string>): void {
    if (this.#link) return this.#link.detach(sink, patterns, names)
    const p = [...patterns]
    const n = [...names]
    this.#calls.push((link) => link.detach(sink, p, n))
    // every handle left before the code arrived: nothing to start, and the registry forgets it
    if (--this.#handles === 0) {
      this.#gone = true
      this.#calls = []
      shared.delete(this)
    }
  }

  route(sink: ConnectionSink, name: string, on: boolean): void {
    this.#do((link) => link.route(sink, name, on))
  }

  subscribe(patterns: readonly string[]): void {
    this.#do((link) => link.subscribe(patterns))
  }

  unsubscribe(patterns: readonly string[]): void {
    this.#do((link) => link.unsubscribe(patterns))
  }

  refresh(): void {
    this.#do((link) => link.refresh())
  }

  reconnect(): void {
    this.#do((link) => link.reconnect())
  }

  #do(call: (link: Link) => void): void {
    if (this.#link) call(this.#link)
    else this.#calls.push(call)
  }
}
