/**
 * Resume across a page reload (`persist: 'session'`): the session id and the last seq delivered,
 * kept in the tab's `sessionStorage` as `{ session, last }`.
 *
 * The record is there only while no page holds the session. It is written when the page is left
 * (`pagehide`, which a reload fires first) or when the connection closes, and it is taken (read,
 * then removed) when a connection starts, so that its first `hello` resumes. A page restored from
 * the back/forward cache (`pageshow`) holds its session again and removes the record. Keeping it
 * out of storage while a page runs matters: a tab the browser duplicates gets a copy of
 * `sessionStorage`, and two tabs resuming one session would take it from each other on every
 * reconnect. Nothing is written per event, so the hot path pays nothing.
 *
 * Nothing is read at import. Storage that is missing or throws (Safari's private mode, a sandboxed
 * frame, a full quota, Node) means nothing is kept, and the client starts a new session as usual.
 */
import { redactUrl } from './logger.js'
import type { UrlSource } from './types.js'

/** Where a connection stands in its session: the sequencer's `session` and `last`. */
export interface Continuity {
  session: string | null
  last: number | null
}

/**
 * The record's name. A string `url` counts without its query string, fragment and user info (where
 * tokens go), so a rotating token keeps the name and no token is stored; a function `url` counts as
 * `''`. `dedupeKey` tells apart connections that the url does not.
 */
export const persistKey = (url: UrlSource, dedupeKey = ''): string => `wirefeed:${typeof url === 'string' ? redactUrl(url) : ''} ${dedupeKey}`

/**
 * Take the record named `key` into `state` (if there is a valid one), and write `state` back when
 * the page is left. Returns the function to call when the connection closes: it writes the record
 * once more (the next connection with this key resumes from it) and removes the listeners.
 */
export function persistSession(key: string, state: Continuity): () => void {
  const win = globalThis as Partial<Pick<typeof globalThis, 'addEventListener' | 'removeEventListener' | 'sessionStorage'>>
  /** Every storage call may throw: reading `sessionStorage` itself, and `setItem` over the quota. */
  const access = (write: boolean, take?: boolean): void => {
    try {
      const storage = win.sessionStorage
      if (!storage) return
      if (write) {
        if (state.session !== null && state.last !== null) storage.setItem(key, JSON.stringify({ session: state.session, last: state.last }))
        return
      }
      const raw = storage.getItem(key)
      storage.removeItem(key)
      if (!take || raw === null) return
      const { session, last } = JSON.parse(raw) as Partial<Record<string, unknown>>
      // a connection that already continues a session (taken over from another tab) keeps it
      if (state.session === null && typeof session === 'string' && session !== '' && Number.isSafeInteger(last) && (last as number) >= 0) {
        state.session = session
        state.last = last as number
      }
    } catch {
      // no storage, or unreadable record: start a new session
    }
  }
  const save = (): void => access(true)
  const drop = (): void => access(false)
  access(false, true)
  const listen = (method: 'addEventListener' | 'removeEventListener'): void => {
    win[method]?.('pagehide', save)
    win[method]?.('pageshow', drop)
  }
  listen('addEventListener')
  return () => {
    listen('removeEventListener')
    save()
  }
}
