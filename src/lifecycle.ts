/**
 * Browser signals that the link deserves a look now: the network came back (`online`), the page
 * became visible, or it was restored from the back/forward cache (`pageshow`). Listeners exist
 * only while a connection is alive; the returned function removes every one of them. Outside a
 * browser (SSR, Node) this does nothing.
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
  }
  listen('addEventListener')
  return () => listen('removeEventListener')
}
