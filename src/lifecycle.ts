/**
 * Browser signals that the link deserves a look now:
 *
 * - `online` (window): the network came back;
 * - `visibilitychange` (document) to `visible`: the page is in front again, and its timers may have
 *   been throttled while it was hidden;
 * - `pageshow` (window): the page was restored from the back/forward cache;
 * - `resume` (document, Page Lifecycle API): the page was frozen and runs again. A frozen page runs
 *   no timer and no task at all, so its heartbeat saw nothing; a background tab can be resumed
 *   while it stays hidden, so no `visibilitychange` comes with it.
 *
 * `freeze` is not watched: a frozen page can do nothing until `resume` anyway, and the heartbeat
 * then judges the link by the wall-clock time since its last frame, which covers the time spent
 * frozen without being told when it began.
 *
 * Listeners exist only while a connection is alive; the returned function removes every one of
 * them. Outside a browser (SSR, Node) this does nothing; nothing is read at import.
 */
export function watchBrowser(wake: () => void): () => void {
  const win = globalThis as Partial<Pick<typeof globalThis, 'addEventListener' | 'removeEventListener' | 'document'>>
  if (typeof win.addEventListener !== 'function' || typeof win.removeEventListener !== 'function') return () => {}
  const doc = win.document
  const onVisibility = (): void => {
    if (doc?.visibilityState === 'visible') wake()
  }
  /** Add (or remove) every listener. */
  const listen = (method: 'addEventListener' | 'removeEventListener'): void => {
    win[method]!('online', wake)
    win[method]!('pageshow', wake)
    doc?.[method]('visibilitychange', onVisibility)
    doc?.[method]('resume', wake)
  }
  listen('addEventListener')
  return () => listen('removeEventListener')
}
